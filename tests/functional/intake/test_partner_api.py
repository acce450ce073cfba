"""Partner API: upload and read as the owning partner; nothing of another partner's."""

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from intake_factories import assert_balanced, build_file, make_loan, run_references
from rest_framework.test import APIClient

from partners.models import InboundFile, PartnerUser
from partners.services import api_key_issue, api_key_revoke

ROWS = [["T1", "L1", "2026-11-30", "100.00", "BORROWER", "SCHEDULED"],
        ["T2", "LX", "2026-11-30", "5.25", "BORROWER", "SCHEDULED"]]


def key_for(partner, username):
    user = get_user_model().objects.create_user(username, password="pw-123456789")
    link = PartnerUser.objects.create(user=user, partner=partner)
    key, raw = api_key_issue(partner_user=link, label="test")
    return key, raw


def client_with(raw):
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return c


def upload(client, rows=ROWS, **kw):
    name, data, control = build_file("repayments", rows, **kw)
    return client.post("/api/v1/files/upload/", {
        "file": SimpleUploadedFile(name, data), "control": SimpleUploadedFile(name + ".ctl",
                                                                                control),
    }, format="multipart")


@pytest.fixture
def setup(alpha, beta):
    for partner, version, program in (alpha, beta):
        make_loan(partner, program, version, "L1")
    _, alpha_raw = key_for(alpha[0], "alpha_ops")
    beta_key, beta_raw = key_for(beta[0], "beta_ops")
    return client_with(alpha_raw), client_with(beta_raw), beta_key


def test_upload_and_read_as_owner(setup):
    alpha, _, _ = setup
    resp = upload(alpha)
    assert resp.status_code == 201, resp.content
    # the row of an unknown loan is quarantined by the run (its loans file may come later)
    assert resp.json() == {"file": "ALPHA_repayments_20261130.csv", "status": "ACCEPTED",
                           "rows": 2, "quarantined": 0, "reasons": {}, "error": None}
    f = InboundFile.objects.get(name="ALPHA_repayments_20261130.csv")
    assert f.channel == "API" and f.sent_by.username == "alpha_ops"
    assert f.sent_by_label.startswith("key:pk_")
    assert_balanced(f.pk)
    listing = alpha.get("/api/v1/files/").json()
    assert [r["id"] for r in listing["results"]] == [f.pk]
    detail = alpha.get(f"/api/v1/files/{f.pk}/").json()
    assert (detail["status"], detail["staged_count"], detail["quarantined_count"]) == (
        "ACCEPTED", 2, 0)
    run_references()
    rows = alpha.get(f"/api/v1/files/{f.pk}/quarantined-rows/").json()["results"]
    assert [(r["row_no"], r["reason"], r["column"]) for r in rows] == [
        (2, "UNKNOWN_LOAN", "loan_no")]
    assert rows[0]["raw"] == "T2,LX,2026-11-30,5.25,BORROWER,SCHEDULED"
    resend = upload(alpha)
    assert resend.status_code == 200 and resend.json()["status"] == "DUPLICATE"
    bad = upload(alpha, ROWS, ctl={"rows": 9}, bdate=__import__("datetime").date(2026, 12, 1))
    assert bad.status_code == 422 and bad.json()["status"] == "REJECTED"


def test_another_partners_files_are_404(setup):
    alpha, beta, _ = setup
    upload(alpha)
    f = InboundFile.objects.get(partner__code="ALPHA")
    assert beta.get("/api/v1/files/").json()["results"] == []
    assert beta.get(f"/api/v1/files/{f.pk}/").status_code == 404
    assert beta.get(f"/api/v1/files/{f.pk}/quarantined-rows/").status_code == 404


def test_upload_in_another_partners_name_is_403(setup):
    alpha, beta, _ = setup
    resp = upload(beta)  # file named ALPHA_..., sent with BETA's key
    assert resp.status_code == 403 and "names partner ALPHA, not BETA" in resp.json()["detail"]
    resp = upload(beta, partner="BETA", ctl={"partner": "ALPHA"})  # name ok, control not
    assert resp.status_code == 403 and "control file names partner ALPHA" in resp.json()[
        "detail"]
    assert not InboundFile.objects.exists()  # refused, not recorded in anyone's name


def test_unauthenticated_and_revoked_are_refused(setup):
    _, beta, beta_key = setup
    anon = APIClient()
    for url in ("/api/v1/files/", "/api/v1/files/1/", "/api/v1/files/1/quarantined-rows/"):
        assert anon.get(url).status_code == 401
    assert upload(anon).status_code == 401
    assert client_with("pk_not-a-key").get("/api/v1/files/").status_code == 401
    assert beta.get("/api/v1/files/").status_code == 200
    api_key_revoke(key=beta_key)
    assert beta.get("/api/v1/files/").status_code == 401
    assert not InboundFile.objects.exists()


def test_a_deactivated_partner_link_or_user_is_refused(setup):
    """Staff turn a partner user off by its link (PartnerUser.active) or by the user itself:
    its API keys then stop working, and a session of that user no longer acts for the
    partner."""
    _, beta, beta_key = setup
    link = beta_key.partner_user
    session = APIClient()
    session.force_authenticate(link.user)
    assert beta.get("/api/v1/files/").status_code == 200
    assert session.get("/api/v1/files/").status_code == 200
    PartnerUser.objects.filter(pk=link.pk).update(active=False)
    assert beta.get("/api/v1/files/").status_code == 401
    assert session.get("/api/v1/files/").status_code == 403
    assert upload(session, partner="BETA").status_code == 403
    PartnerUser.objects.filter(pk=link.pk).update(active=True)
    assert beta.get("/api/v1/files/").status_code == 200
    get_user_model().objects.filter(pk=link.user_id).update(is_active=False)
    assert beta.get("/api/v1/files/").status_code == 401
    assert not InboundFile.objects.exists()


def test_staff_without_partner_link_is_403(staff_user, setup):
    c = APIClient()
    c.force_authenticate(staff_user)
    assert c.get("/api/v1/files/").status_code == 403


def test_openapi_schema_lists_the_endpoints(db):
    c = APIClient()
    c.force_authenticate(get_user_model().objects.create_user("reader"))
    resp = c.get("/api/v1/schema/?format=json")
    assert resp.status_code == 200
    paths = resp.json()["paths"]
    for p in ("/api/v1/files/", "/api/v1/files/{id}/", "/api/v1/files/{id}/quarantined-rows/",
              "/api/v1/files/upload/"):
        assert p in paths, list(paths)
