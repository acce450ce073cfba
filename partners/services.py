"""Writes of the partners app: the inbound-file registry, quarantine resolution, API keys.

Keyword-only, atomic where they stand alone, raising named errors (`PartnerFileError`).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import date, datetime

from django.db import transaction
from django.utils import timezone

from config import locks
from partners.files.envelope import PartnerFileError
from partners.models import (
    FileKind,
    InboundFile,
    InboundFileStatus,
    Partner,
    PartnerApiKey,
    PartnerStatus,
    PartnerUser,
    QuarantinedRow,
)

API_KEY_PREFIX_LEN = 8


class ResolutionError(PartnerFileError):
    """A quarantined row cannot be resolved as asked."""


def inbound_file_lock(*, partner: Partner) -> None:
    """Serialise a partner's imports until the transaction ends: the resend check and the
    duplicate checks across files (txn_no, loan_no) then see every earlier file committed."""
    locks.xact(locks.PARTNER_INBOUND, partner.pk)


def inbound_file_create(
    *, status: str, name: str, received_at: datetime, channel: str,
    partner: Partner | None = None, partner_code: str = "", kind: str = "",
    business_date: date | None = None, sha256: str = "", size_bytes: int = 0,
    encoding: str = "", rows: int | None = None, amount_total=None, error: str = "",
    sent_by=None, sent_by_label: str = "", duplicate_of: InboundFile | None = None,
) -> InboundFile:
    """Record an arrival in the registry (accepted, rejected or a resend)."""
    name, partner_code, error = _storable(name), _storable(partner_code), _storable(error)
    return InboundFile.objects.create(
        status=status, name=name[:255], received_at=received_at, channel=channel,
        partner=partner, partner_code=partner_code[:64], kind=kind[:16],
        business_date=business_date, sha256=sha256, size_bytes=size_bytes, encoding=encoding,
        rows=rows, amount_total=amount_total, error=error, sent_by=sent_by,
        sent_by_label=sent_by_label[:150], duplicate_of=duplicate_of,
    )


def _storable(text: str) -> str:
    """Text as PostgreSQL can store it: a NUL or a lone surrogate (which a file name or an
    error quoting a broken file may hold) is written as its escape, never an error."""
    if text.isascii() and "\x00" not in text:
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def inbound_file_rejected_record(**fields) -> InboundFile:
    """Record a whole-file rejection in its own transaction (the import itself rolled back)."""
    with transaction.atomic():
        return inbound_file_create(status=InboundFileStatus.REJECTED, **fields)


def quarantined_rows_resolve(*, rows: Iterable[QuarantinedRow], note: str, by) -> int:
    """Mark unresolved quarantined rows resolved with a note; returns how many."""
    note = (note or "").strip()
    if not note:
        raise ResolutionError("a resolution needs a note")
    ids = [r.pk for r in rows]
    with transaction.atomic():
        return QuarantinedRow.objects.filter(pk__in=ids, resolved=False).update(
            resolved=True, resolution_note=note, resolved_by=by, resolved_at=timezone.now()
        )


def _key_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_key_secret_new() -> tuple[str, str, str]:
    """A fresh key: (raw key shown once, prefix, SHA-256 hex stored)."""
    raw = "pk_" + secrets.token_urlsafe(32)
    return raw, raw[:API_KEY_PREFIX_LEN], _key_hash(raw)


def api_key_issue(*, partner_user: PartnerUser, label: str = "", by=None,
                  key: PartnerApiKey | None = None) -> tuple[PartnerApiKey, str]:
    """Issue a new API key (optionally filling an unsaved `key`, as the admin's add form
    does); the raw key is returned once and never stored."""
    raw, prefix, key_hash = api_key_secret_new()
    key = key or PartnerApiKey()
    key.partner_user, key.label, key.prefix, key.key_hash = partner_user, label, prefix, key_hash
    key.created_by = by
    key.save()
    return key, raw


def api_key_revoke(*, key: PartnerApiKey, by=None) -> bool:
    """Revoke a key (idempotent). Returns False when it was already revoked."""
    updated = PartnerApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_by=by
    )
    return bool(updated)


def api_key_authenticate(*, raw: str) -> PartnerApiKey | None:
    """The active key with this value whose user and partner link are active, or None."""
    key = (
        PartnerApiKey.objects.select_related("partner_user__user", "partner_user__partner")
        .filter(key_hash=_key_hash(raw), revoked_at__isnull=True, partner_user__active=True,
                partner_user__user__is_active=True)
        .first()
    )
    if key is not None:
        PartnerApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
    return key


# --- Partner status (issue 21 finding 3) ------------------------------------------------------
# ACTIVE: everything. SUSPENDED: no new lending — its loans files are refused, while
# repayments, reversals and balances are still taken so existing loans keep being serviced.
# TERMINATED: its API keys and users are refused; its files are taken only from staff (the
# management command), for run-off. A change of status is a four-eyes request
# (controls.requests, kind PARTNER_STATUS); TERMINATED is final.


class PartnerStatusError(PartnerFileError):
    """A partner status change that cannot be made as asked."""


def partner_status_change_check(*, partner: Partner, status: str) -> None:
    """Raise `PartnerStatusError` unless `partner` may move to `status` now."""
    if status not in PartnerStatus.values:
        raise PartnerStatusError(f"{status!r} is not a partner status "
                                 f"({', '.join(PartnerStatus.values)})")
    if partner.is_bank:
        raise PartnerStatusError("the bank's own status is not changed")
    if partner.status == status:
        raise PartnerStatusError(f"partner {partner.code} is already {status}")
    if partner.status == PartnerStatus.TERMINATED:
        raise PartnerStatusError(f"partner {partner.code} is TERMINATED; termination is final")


def partner_status_set(*, partner: Partner, status: str) -> Partner:
    """Move a partner to `status` (only `controls.requests` calls it, once a second person
    approved the request). Locks the partner row so two approvals cannot interleave."""
    with transaction.atomic():
        partner = Partner.objects.select_for_update().get(pk=partner.pk)
        partner_status_change_check(partner=partner, status=status)
        partner.status = status
        partner.save(update_fields=["status"])
    return partner


def partner_api_refusal(*, partner: Partner, file_kind: str | None = None) -> str | None:
    """Why the partner API refuses this partner (a call, or an upload of `file_kind`), or
    None when it does not. The message is the 403 answer's text."""
    if partner.status == PartnerStatus.TERMINATED:
        return (f"partner {partner.code} is terminated: its API keys and users are refused; "
                "files for run-off are taken from the bank's staff only")
    if partner.status == PartnerStatus.SUSPENDED and file_kind == FileKind.LOANS:
        return (f"partner {partner.code} is suspended: no new lending, its loans files are "
                "refused (repayments, reversals and balances files are still taken)")
    if partner.status not in (PartnerStatus.ACTIVE, PartnerStatus.SUSPENDED,
                              PartnerStatus.TERMINATED):
        return f"partner {partner.code} has an unknown status {partner.status!r}"
    return None
