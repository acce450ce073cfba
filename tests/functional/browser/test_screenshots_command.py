"""`manage.py screenshots`: the README's PNGs taken in headless Chromium from the database."""

from __future__ import annotations

import struct
from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.core.management.base import CommandError

from partners.models import Partner, PartnerUser
from tests.factories import browser as fb
from tests.golden.conftest import golden  # noqa: F401 - the golden world fixture
from tests.golden.helpers import loan_row, pay_row, settle
from tests.support.ledger import ledger_purge

pytestmark = pytest.mark.django_db(transaction=True)  # the server thread reads committed rows

D0, D1 = date(2026, 1, 15), date(2026, 2, 16)
NAMES = ("dashboard", "statement", "breaks", "partner-statement")
# A blank 1400 × 700 page compresses to a few kB; the pages with their tables are far more.
MIN_BYTES = 20_000


@pytest.fixture
def committed(_chromium, transactional_db):
    """Chromium present (else the browser tests' skip or failure); the ledger purged after."""
    yield
    ledger_purge()  # the ledger refuses the flush's TRUNCATE while it holds rows


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])  # the IHDR chunk's width and height


def test_the_four_pages_are_saved_as_pngs_of_their_content(committed, golden, tmp_path):  # noqa: F811
    settle(D0, loans=[loan_row("L1"), loan_row("L2", principal="5000.00")])
    settle(D1, repayments=[pay_row("T1", "L1", D1, "916.80")])
    fb.staff_member("mei")
    user = get_user_model().objects.create_user("alpha-user", password="partner-pass-1")
    PartnerUser.objects.create(user=user, partner=Partner.objects.get(code="ALPHA"))

    call_command("screenshots", out=tmp_path, stdout=open("/dev/null", "w"))  # noqa: SIM115

    for name in NAMES:
        data = (tmp_path / f"{name}.png").read_bytes()
        width, height = _png_size(data)
        assert width == 1400 and 700 <= height <= 2000, (name, width, height)
        assert len(data) > MIN_BYTES, (name, len(data))
    assert not Session.objects.exists()  # the command's sessions are gone


def test_without_settled_data_it_says_what_to_run(transactional_db, tmp_path):
    fb.staff_member("mei")
    with pytest.raises(CommandError, match="make demo"):
        call_command("screenshots", out=tmp_path)
    assert not list(tmp_path.iterdir())
