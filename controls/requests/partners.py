"""PARTNER_STATUS: a partner suspended, terminated or reactivated."""

from __future__ import annotations

from controls.models import ChangeRequest
from controls.requests.base import Handler, RequestError


def _partner_status_target(req: ChangeRequest):
    from partners.models import Partner

    partner = Partner.objects.filter(pk=req.target_id).first()
    if partner is None:
        raise RequestError(f"{req}: partner {req.target_id} does not exist")
    if set(req.payload or {}) != {"status"}:
        raise RequestError(f"{req}: a partner status request says only the new status")
    return partner, req.payload["status"]


def _partner_status_check(req: ChangeRequest) -> None:
    from partners import services as partner_services

    partner, status = _partner_status_target(req)
    try:
        partner_services.partner_status_change_check(partner=partner, status=status)
    except partner_services.PartnerStatusError as exc:
        raise RequestError(f"{req}: {exc}") from exc


def _partner_status_apply(req: ChangeRequest) -> str:
    from partners import services as partner_services

    partner, status = _partner_status_target(req)
    before = partner.status
    try:
        partner_services.partner_status_set(partner=partner, status=status)
    except partner_services.PartnerStatusError as exc:
        raise RequestError(f"{req}: {exc}") from exc
    return f"partner {partner.code}: {before} → {status}"


HANDLER = Handler(_partner_status_check, _partner_status_apply)
