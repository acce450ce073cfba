"""Admin: file registry, quarantine resolution with a note, API key issue and revoke."""

from intake_factories import import_rows, run_references

from partners.models import PartnerApiKey, PartnerUser, QuarantinedRow


def test_registry_and_quarantine_pages(staff_client, alpha):
    result = import_rows("repayments", [["T1", "LX", "2026-11-30", "1.00", "BORROWER",
                                         "SCHEDULED"]])
    run_references()  # UNKNOWN_LOAN, by the run
    assert staff_client.get("/admin/partners/inboundfile/").status_code == 200
    page = staff_client.get(f"/admin/partners/quarantinedrow/?file__id__exact={result.file_id}"
                            "&reason__exact=UNKNOWN_LOAN")
    assert page.status_code == 200 and b"UNKNOWN_LOAN" in page.content
    row = QuarantinedRow.objects.get()
    assert staff_client.get(f"/admin/partners/quarantinedrow/{row.pk}/change/").status_code \
        == 200  # view only
    url = "/admin/partners/quarantinedrow/"
    confirm = staff_client.post(url, {"action": "mark_resolved", "_selected_action": [row.pk]})
    assert confirm.status_code == 200 and b"Resolution note" in confirm.content
    staff_client.post(url, {"action": "mark_resolved", "_selected_action": [row.pk],
                            "apply": "1", "note": ""})
    row.refresh_from_db()
    assert not row.resolved  # a note is required
    staff_client.post(url, {"action": "mark_resolved", "_selected_action": [row.pk],
                            "apply": "1", "note": "partner confirmed typo, resent"})
    row.refresh_from_db()
    assert row.resolved and row.resolved_by.username == "staff" and row.message


def test_issue_and_revoke_key(staff_client, staff_user, alpha, django_user_model):
    user = django_user_model.objects.create_user("alpha_ops")
    link = PartnerUser.objects.create(user=user, partner=alpha[0])
    resp = staff_client.post("/admin/partners/partnerapikey/add/",
                             {"partner_user": link.pk, "label": "ops"}, follow=True)
    assert resp.status_code == 200
    key = PartnerApiKey.objects.get()
    shown = [str(m) for m in resp.context["messages"]]
    assert any(key.prefix in m and "not stored" in m for m in shown)
    assert key.created_by == staff_user and len(key.key_hash) == 64
    staff_client.post("/admin/partners/partnerapikey/",
                      {"action": "revoke_keys", "_selected_action": [key.pk]})
    key.refresh_from_db()
    assert key.revoked_at is not None and key.revoked_by == staff_user
