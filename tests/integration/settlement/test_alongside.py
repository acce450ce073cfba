"""settlement.alongside.Alongside: the reconciliation runs on a second connection beside the posting."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from lending.settlement.alongside import Alongside


def _backend_pid() -> int:
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        return cur.fetchone()[0]


def _fails() -> None:
    raise ValueError("reconcile broke")


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_it_runs_on_its_own_connection():
    job = Alongside(_backend_pid)
    assert job.result() != _backend_pid()
    assert job.seconds > 0


@pytest.mark.django_db(transaction=True)
def test_its_error_reaches_the_waiting_thread():
    job = Alongside(_fails)
    with pytest.raises(ValueError, match="reconcile broke"):
        job.result()


@pytest.mark.django_db
def test_inside_a_transaction_it_runs_inline_and_sees_the_transaction():
    # another connection would not see this transaction's rows: it runs first, here
    from partners.models import Partner
    from tests.factories import lending as f

    with transaction.atomic():
        f.partner("ZZTOP")
        job = Alongside(lambda: (_backend_pid(), Partner.objects.filter(code="ZZTOP").exists()))
        assert job.result() == (_backend_pid(), True)
        with pytest.raises(ValueError, match="reconcile broke"):
            Alongside(_fails)
