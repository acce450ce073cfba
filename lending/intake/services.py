"""Import of a partner file: envelope checks (partners.files), then set-based row checks and
staging (lending.intake.checks), all in one transaction.

    extract  the bytes are hashed in chunks (digest), then decoded and parsed by the csv module
             in one tight loop that streams rows into a temporary table with COPY
    check    a handful of set-based statements: whole-file totals, one CASE per row for the
             first failing check, unique keys for duplicates
    load     INSERT … SELECT of the good rows into the kind's staging table, the others into
             partners.QuarantinedRow

Memory is bounded by the COPY buffer (COPY_FLUSH_ROWS rows), whatever the size of the file.
A whole-file rejection rolls everything back and is then recorded in the registry on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import BinaryIO

from django.db import transaction
from django.utils import timezone

from lending import selectors as lending_selectors
from lending.intake import steps
from partners import selectors as partner_selectors
from partners import services as partner_services
from partners.calendar import is_business_day
from partners.files.envelope import (
    Control,
    FileRejected,
    PartnerFileError,
    codec_for,
    control_match_name,
    control_parse,
    digest_stream,
    file_name_parse,
)
from partners.models import InboundFileStatus, Partner


class NotYourFile(PartnerFileError):
    """A partner tried to send a file in another partner's name (the API answers 403)."""


@dataclass(frozen=True)
class ImportResult:
    file: str
    status: str
    rows: int
    quarantined: int
    reasons: dict[str, int]
    error: str | None
    file_id: int | None = None

    def as_dict(self) -> dict:
        """The contract's JSON summary, exactly these keys."""
        return {"file": self.file, "status": str(self.status), "rows": self.rows,
                "quarantined": self.quarantined, "reasons": self.reasons, "error": self.error}


def partner_file_import(
    *, name: str, data: BinaryIO, control: bytes | None, channel: str,
    encoding: str | None = None, acting_partner: Partner | None = None, sent_by=None,
    sent_by_label: str = "", now: datetime | None = None,
) -> ImportResult:
    """Import one data file with its control file; returns the contract's summary.

    `acting_partner` (API): the file must be in that partner's own name, else `NotYourFile`
    is raised and nothing is recorded. Whole-file rejections are recorded and reported with
    status REJECTED; a resend of the accepted file is recorded as DUPLICATE and changes nothing.
    """
    received_at = now or timezone.now()
    sha, size = digest_stream(data)
    record = {"name": name, "received_at": received_at, "channel": channel, "sent_by": sent_by,
              "sent_by_label": sent_by_label, "sha256": sha, "size_bytes": size,
              "partner": acting_partner, "partner_code": acting_partner.code if acting_partner
              else ""}
    ctl: Control | None = None
    try:
        fname = file_name_parse(name)
        record.update(partner_code=fname.partner_code, kind=fname.kind,
                      business_date=fname.business_date)
        if acting_partner is not None and fname.partner_code != acting_partner.code:
            raise NotYourFile(f"{name} names partner {fname.partner_code}, not {acting_partner.code}")
        partner = acting_partner or partner_selectors.partner_get_by_code(code=fname.partner_code)
        if partner is None:
            raise FileRejected(f"partner {fname.partner_code} is unknown")
        record["partner"] = partner
        ctl = control_parse(control, name=name)
        record.update(rows=ctl.rows, amount_total=ctl.amount_total)
        if acting_partner is not None and ctl.partner_code != acting_partner.code:
            raise NotYourFile(
                f"the control file names partner {ctl.partner_code}, not {acting_partner.code}"
            )
        control_match_name(ctl, fname, name=name)
        codec = codec_for(partner_encoding=partner.file_encoding, explicit=encoding)
        record["encoding"] = "utf-8" if codec == "utf-8-sig" else codec
        if sha != ctl.sha256:
            raise FileRejected(
                f"digest mismatch: the file's sha256 is {sha}, the control file says {ctl.sha256}"
            )
        with transaction.atomic():
            partner_services.inbound_file_lock(partner=partner)
            accepted = partner_selectors.inbound_file_accepted_get(
                partner=partner, kind=fname.kind, business_date=fname.business_date
            )
            if accepted is not None and accepted.sha256 == sha:
                dup = partner_services.inbound_file_create(
                    status=InboundFileStatus.DUPLICATE, duplicate_of=accepted, **record
                )
                return ImportResult(name, InboundFileStatus.DUPLICATE, accepted.rows or 0,
                                    accepted.quarantined_count, dict(accepted.reasons),
                                    None, dup.pk)
            settled = lending_selectors.last_settled_date(partner.pk)
            business_date_check(day=fname.business_date, today=timezone.localdate(received_at),
                                settled=settled)
            if accepted is not None:
                raise FileRejected(
                    f"a different {fname.kind} file of {partner.code} for "
                    f"{fname.business_date.isoformat()} was already accepted "
                    f"(file {accepted.pk}, sha256 {accepted.sha256})"
                )
            inbound = partner_services.inbound_file_create(
                status=InboundFileStatus.ACCEPTED, **record
            )
            steps.stage(inbound=inbound, partner=partner, fname=fname, ctl=ctl, data=data,
                        codec=codec, settled=settled)
            return ImportResult(name, InboundFileStatus.ACCEPTED, inbound.rows or 0,
                                inbound.quarantined_count, dict(inbound.reasons), None,
                                inbound.pk)
    except FileRejected as exc:
        rejected = partner_services.inbound_file_rejected_record(error=str(exc), **record)
        return ImportResult(name, InboundFileStatus.REJECTED, ctl.rows if ctl else 0, 0, {},
                            str(exc), rejected.pk)


def business_date_check(*, day: date, today: date, settled: date | None) -> None:
    """FILE_FORMATS 1.1 "Business dates": a file's business date is a business day of the
    bank's calendar, not after today, and after the partner's last settled business date
    (a settled day is never rewritten). Raises FileRejected saying which rule."""
    if day > today:
        raise FileRejected(f"business date {day.isoformat()} is after today "
                           f"({today.isoformat()})")
    if settled is not None and day <= settled:
        raise FileRejected(
            f"business date {day.isoformat()} is on or before the partner's last settled "
            f"business date {settled.isoformat()}: a settled day is never rewritten (send a "
            "correction as a reversal or an adjustment in a later day's files)")
    if not is_business_day(day):
        raise FileRejected(f"business date {day.isoformat()} is not a business day of the "
                           "bank's calendar (a weekend or a public holiday)")
