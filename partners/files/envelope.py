"""Envelope checks of a partner file: name, control file, digest, encoding, CSV header.

Everything here streams: the digest is computed in 1 MiB chunks and the rows are read through
an incremental decoder and the `csv` module, so memory does not grow with the file.
Any failure is a `FileRejected` with one clear message: the whole file is refused.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import BinaryIO

from partners.files.contract import (
    AMOUNT_MAX_INT_DIGITS,
    AMOUNT_PY_RE,
    CONTROL_KEYS,
    CONTROL_MAX_BYTES,
    CONTROL_MAX_ROWS,
    ENCODINGS,
    FILE_NAME_RE,
    KINDS,
    KindSpec,
)

CHUNK = 1 << 20  # digest read size: 1 MiB keeps memory flat and hashing at disk speed

# A field may hold a long free-text reason; the csv module's default limit (128 KiB) is kept.
csv.field_size_limit(1 << 17)


class PartnerFileError(Exception):
    """Base of the envelope's named errors; interfaces turn it into a clear 4xx answer."""


class FileRejected(PartnerFileError):
    """The whole file is refused, nothing of it is staged."""


@dataclass(frozen=True)
class FileName:
    partner_code: str
    kind: str
    business_date: date


@dataclass(frozen=True)
class Control:
    partner_code: str
    kind: str
    business_date: date
    rows: int
    amount_total: Decimal
    sha256: str


def _parse_date(text: str) -> date | None:
    try:
        if re.fullmatch(r"[0-9]{8}", text):
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            return date.fromisoformat(text)
    except ValueError:
        return None
    return None


def file_name_parse(name: str) -> FileName:
    """`<PARTNER>_<KIND>_<YYYYMMDD>.csv` → its parts."""
    m = FILE_NAME_RE.match(name)
    day = _parse_date(m.group("date")) if m else None
    if not m or day is None:
        raise FileRejected(
            f"file name {name!r} does not follow <PARTNER>_<KIND>_<YYYYMMDD>.csv "
            f"(kinds: {', '.join(KINDS)})"
        )
    return FileName(m.group("partner"), m.group("kind"), day)


def _json_type(value) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, Decimal):
        return "number"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    return "object" if isinstance(value, dict) else "list"


def _control_object(pairs: list[tuple]) -> dict:
    """object_pairs_hook: a key given twice is an error, not the last one winning."""
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise _ControlKeyError(key, "is given twice")
        out[key] = value
    return out


class _ControlKeyError(ValueError):
    def __init__(self, key: str, problem: str) -> None:
        super().__init__(key, problem)
        self.key, self.problem = key, problem


def control_parse(raw: bytes | None, *, name: str) -> Control:
    """Parse the JSON control file; `raw` is None when it is missing.

    It must be a flat JSON object of exactly the contract's keys with the contract's types
    (CONTROL_KEYS), at most CONTROL_MAX_BYTES; anything else is a FileRejected naming the key.
    """
    label = f"control file {name}.ctl"
    if raw is None:
        raise FileRejected(f"{label} is missing")
    if len(raw) > CONTROL_MAX_BYTES:
        raise FileRejected(f"{label} is {len(raw)} bytes, more than {CONTROL_MAX_BYTES}")
    try:
        data = json.loads(raw.decode("utf-8-sig"), parse_float=Decimal,
                          parse_int=int, parse_constant=_no_constant,
                          object_pairs_hook=_control_object)
    except _ControlKeyError as exc:
        raise FileRejected(f"{label}: key {exc.key!r} {exc.problem}") from None
    except RecursionError:
        raise FileRejected(f"{label} is not a flat JSON object: nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise FileRejected(f"{label} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise FileRejected(f"{label} is not a JSON object but {_a(_json_type(data))}")
    extra = [k for k in data if k not in CONTROL_KEYS]
    if extra:
        raise FileRejected(f"{label}: unknown key(s) " + ", ".join(repr(k) for k in extra))
    missing = [k for k in CONTROL_KEYS if k not in data]
    if missing:
        raise FileRejected(f"{label} lacks {', '.join(missing)}")
    for key, types in CONTROL_KEYS.items():
        got = _json_type(data[key])
        if got not in types:
            raise FileRejected(f"{label}: {key} must be {' or '.join(map(_a, types))}, "
                               f"not {_a(got)}")
    problems = []
    day = _parse_date(data["business_date"])
    if day is None:
        problems.append(f"business_date {data['business_date'][:40]!r} is not a date")
    rows = data["rows"]
    if not 0 <= rows <= CONTROL_MAX_ROWS:
        problems.append(f"rows {str(rows)[:40]} is not a non-negative integer of 64 bits")
    amount = data["amount_total"]
    text = amount if isinstance(amount, str) else format(amount, "f")
    total = Decimal(text) if (len(text) <= 40 and AMOUNT_PY_RE.match(text)
                              and len(text.lstrip("-").split(".")[0]) <= AMOUNT_MAX_INT_DIGITS
                              ) else None
    if total is None:
        problems.append(f"amount_total {text[:40]!r} is not an amount (at most "
                        f"{AMOUNT_MAX_INT_DIGITS} digits and 2 decimals)")
    digest = data["sha256"].lower()
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        problems.append("sha256 is not a 64-character hex digest")
    for key in ("partner", "kind"):
        if not re.fullmatch(r"[A-Za-z0-9_]{1,32}", data[key]):
            problems.append(f"{key} {data[key][:40]!r} is not a code")
    if problems:
        raise FileRejected(f"{label}: " + "; ".join(problems))
    # no problem recorded: both parsed (each None above added a problem)
    assert day is not None and total is not None
    return Control(data["partner"], data["kind"], day, rows, total, digest)


def _a(noun: str) -> str:
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def _no_constant(text: str):
    raise ValueError(f"{text} is not a JSON value")


def control_match_name(control: Control, fname: FileName, *, name: str) -> None:
    """The control file must describe the file it sits beside."""
    for field, theirs, ours in (
        ("partner", control.partner_code, fname.partner_code),
        ("kind", control.kind, fname.kind),
        ("business_date", control.business_date, fname.business_date),
    ):
        if theirs != ours:
            raise FileRejected(
                f"control file does not match {name}: {field} is {theirs} in the control file, "
                f"{ours} in the file name"
            )


def digest_stream(stream: BinaryIO) -> tuple[str, int]:
    """SHA-256 hex digest and size of a binary stream, read in chunks; rewinds it."""
    stream.seek(0)
    h = hashlib.sha256()
    size = 0
    while chunk := stream.read(CHUNK):
        h.update(chunk)
        size += len(chunk)
    stream.seek(0)
    return h.hexdigest(), size


def codec_for(*, partner_encoding: str, explicit: str | None) -> str:
    """Python codec for a file: explicit option, else the partner's profile. UTF-8 may carry a
    BOM (`utf-8-sig` strips it); GBK files are read as GB18030, its superset."""
    wanted = (explicit or partner_encoding or "utf-8").strip().lower()
    if wanted not in ENCODINGS:
        raise FileRejected(
            f"unsupported encoding {wanted!r} (use utf-8 or gb18030/gbk)"
        )
    return "utf-8-sig" if ENCODINGS[wanted] == "utf-8" else "gb18030"


def header_check(spec: KindSpec, header: list[str]) -> None:
    """Columns in any order; none missing, none unknown, none twice."""
    allowed = set(spec.columns)
    unknown = [c for c in header if c not in allowed]
    missing = [c for c in spec.required if c not in header]
    twice = sorted({c for c in header if header.count(c) > 1})
    problems = []
    if missing:
        problems.append("missing required column(s) " + ", ".join(missing))
    if unknown:
        problems.append("unknown column(s) " + ", ".join(repr(c) for c in unknown))
    if twice:
        problems.append("repeated column(s) " + ", ".join(twice))
    if problems:
        raise FileRejected(f"bad header for a {spec.kind} file: " + "; ".join(problems))


class RowReader:
    """Decodes a binary stream and yields CSV rows (lists of str), header first.

    Decoding errors surface as `FileRejected` naming the data row; the caller reads the rows in
    one tight loop (`for row in reader.rows`).
    """

    def __init__(self, stream: BinaryIO, codec: str) -> None:
        stream.seek(0)
        self.codec = codec
        # newline="": the csv module sees \r\n, \n and quoted line breaks as they are
        self._text = io.TextIOWrapper(
            io.BufferedReader(_Unclosable(stream), CHUNK), encoding=codec, errors="strict", newline=""
        )
        # the header is read by the csv module; the data lines are read by the caller (the
        # csv module pulls exactly one line per record, so both share one position)
        self.lines: Iterator[str] = self._text
        self.rows: Iterator[list[str]] = csv.reader(self._text, dialect="excel", strict=True)

    def header(self, spec: KindSpec) -> list[str]:
        try:
            header = next(self.rows)
        except StopIteration:
            raise FileRejected("the file is empty: no header row") from None
        except UnicodeDecodeError as exc:
            raise self.decode_error(exc, 0) from None
        except csv.Error as exc:
            raise FileRejected(f"the header row is not valid CSV: {exc}") from None
        header_check(spec, header)
        return header

    def decode_error(self, exc: UnicodeDecodeError, row_no: int = 0) -> FileRejected:
        # The decoder works on blocks of bytes: the position is given as a byte offset.
        label = "gb18030" if self.codec == "gb18030" else "utf-8"
        bad = exc.object[exc.start:exc.start + 4].hex(" ")
        return FileRejected(
            f"the bytes do not decode as {label}: {exc.reason} (bytes {bad})"
        )


class _Unclosable(io.RawIOBase):
    """Lets a TextIOWrapper read a caller's stream without closing it when collected."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        data = self._stream.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        return n
