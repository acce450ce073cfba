"""Import a partner data file with the control file beside it (FILE_FORMATS.md).

    python manage.py import_partner_file PATH [--encoding utf-8|gb18030|gbk]

Prints the contract's JSON summary on one line; exit status 0 unless the file was rejected (1)
or the command could not run (2: unreadable path, bad option).
"""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand

from lending.intake.services import partner_file_import
from partners.files.contract import CONTROL_SUFFIX
from partners.models import Channel, InboundFileStatus


class Command(BaseCommand):
    help = "Import a partner file (PATH, with PATH.ctl beside it); prints a JSON summary."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--encoding", default=None,
                            help="utf-8 or gb18030 (gbk); default: the partner's profile")

    def handle(self, *args, path: str, encoding: str | None, **options):
        data_path = Path(path)
        ctl_path = Path(path + CONTROL_SUFFIX)
        try:
            data = data_path.open("rb")
        except OSError as exc:
            self.stderr.write(f"cannot read {path}: {exc.strerror}")
            sys.exit(2)
        control = ctl_path.read_bytes() if ctl_path.is_file() else None
        try:
            with data:
                result = partner_file_import(
                    name=data_path.name, data=data, control=control, encoding=encoding,
                    channel=Channel.COMMAND, sent_by_label=f"command:{_os_user()}",
                )
        except OSError as exc:
            self.stderr.write(f"cannot read {path}: {exc}")
            sys.exit(2)
        self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False))
        if result.status == InboundFileStatus.REJECTED:
            sys.exit(1)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
