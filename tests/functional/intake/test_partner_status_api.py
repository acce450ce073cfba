"""Issue 21, finding 3: the partner API honours the partner's status.

ACTIVE does everything; SUSPENDED: no new lending (its loans uploads answer 403, nothing
recorded) while repayments, reversals and balances are still taken and its reads answer;
TERMINATED: its API keys and its users (session login too) are refused with 403.
"""

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from intake_factories import build_file
from rest_framework.test import APIClient

from partners.models import InboundFile, Partner, PartnerUser
from partners.services import api_key_issue

LOAN_ROWS = [["N1", "P1", "B-1", "1000.00", "0.12", "12", "EQUAL_INSTALLMENT", "2026-11-30",
              "BA-1"]]
REPAYMENT_ROWS = [["T1", "L1", "2026-11-30", "100.00", "BORROWER", "SCHEDULED"]]


@pytest.fixture
def alpha_api(alpha):
    partner = alpha[0]
    user = get_user_model().objects.create_user("alpha_ops", password="pw-123456789-x")
    link = PartnerUser.objects.create(user=user, partner=partner)
    _, raw = api_key_issue(partner_user=link, label="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return partner, user, client


def _status(partner, status):
    Partner.objects.filter(pk=partner.pk).update(status=status)


def upload(client, kind, rows):
    name, data, control = build_file(kind, rows)
    return client.post("/api/v1/files/upload/", {
        "file": SimpleUploadedFile(name, data),
        "control": SimpleUploadedFile(name + ".ctl", control)}, format="multipart")


def test_active_partner_uploads_loans_and_repayments(alpha_api):
    _, _, client = alpha_api
    assert upload(client, "loans", LOAN_ROWS).status_code == 201
    assert upload(client, "repayments", REPAYMENT_ROWS).status_code == 201
    assert client.get("/api/v1/files/").status_code == 200


def test_suspended_partner_loans_upload_is_refused_with_a_clear_403(alpha_api):
    partner, _, client = alpha_api
    _status(partner, "SUSPENDED")
    resp = upload(client, "loans", LOAN_ROWS)
    assert resp.status_code == 403
    body = resp.json()
    assert body["code"] == "partner_suspended" and body["partner"] == "ALPHA"
    assert body["partner_status"] == "SUSPENDED"
    assert "ALPHA is suspended" in body["detail"] and "loans files are refused" in body["detail"]
    assert not InboundFile.objects.filter(partner=partner).exists()  # nothing recorded


def test_suspended_partner_is_still_serviced(alpha_api):
    """Repayments (and the other servicing files) are taken, reads answer: existing loans
    keep being serviced."""
    partner, _, client = alpha_api
    _status(partner, "SUSPENDED")
    resp = upload(client, "repayments", REPAYMENT_ROWS)
    assert resp.status_code == 201, resp.content
    assert resp.json()["status"] == "ACCEPTED"
    listing = client.get("/api/v1/files/")
    assert listing.status_code == 200 and len(listing.json()["results"]) == 1
    assert client.get("/api/v1/statements/").status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/files/", "/api/v1/statements/", "/api/v1/breaks/"])
def test_terminated_partner_key_is_refused_on_every_read(alpha_api, path):
    partner, _, client = alpha_api
    assert client.get(path).status_code == 200
    _status(partner, "TERMINATED")
    resp = client.get(path)
    assert resp.status_code == 403
    assert resp.json()["code"] == "partner_terminated"
    assert "ALPHA is terminated" in resp.json()["detail"]


def test_terminated_partner_key_cannot_upload_anything(alpha_api):
    partner, _, client = alpha_api
    _status(partner, "TERMINATED")
    for kind, rows in (("loans", LOAN_ROWS), ("repayments", REPAYMENT_ROWS)):
        resp = upload(client, kind, rows)
        assert resp.status_code == 403 and resp.json()["code"] == "partner_terminated"
    assert not InboundFile.objects.filter(partner=partner).exists()


def test_terminated_partner_user_cannot_use_the_api_by_session(alpha_api):
    partner, user, _ = alpha_api
    session = APIClient()
    session.force_login(user)
    assert session.get("/api/v1/files/").status_code == 200
    _status(partner, "TERMINATED")
    resp = session.get("/api/v1/files/")
    assert resp.status_code == 403 and resp.json()["code"] == "partner_terminated"
