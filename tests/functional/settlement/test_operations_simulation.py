"""Issue 19, acceptance 2: the daily run as production runs it, simulated over six weeks.

Three platforms (tests/factories/operations.py) and a guarantor, every business day from
2026-09-14 to 2026-10-30 (31 business days: 中秋 on Fri 09-25, 国庆 10-01..07, the make-up
working days Sun 09-20 and Sat 10-10, from the calendar the data migration loads).

1. Clean pass: each business day, each platform's four files (written from the books as they
   stand) go through intake in order and the day is settled on one real worker; the files'
   bytes, every run's fingerprint and every file's outcome are kept.
2. The books are wiped and the same bytes are delivered again, in production's disorder (seeded
   RNG): each file at a random time of the evening or night after its day, partners and kinds
   shuffled, some a day late; one file resent with a changed amount (REJECTED, the original
   stays); one platform's files missing for two business days and delivered two days later.
   Every calendar night at 02:30 the nightly task is sent to the broker as beat sends it (with
   that night's "now"), on two real worker processes. On three nights the test kills (SIGKILL)
   the worker that is inside a chunk — its work done, its transaction open (the hold in
   tests/factories/operations.py) — while the other worker lives, and starts a new one.

Afterwards: every business day DONE for every platform, no run stuck, the ledger checks clean,
each run's fingerprint equal to the clean pass's, every file with the same outcome.
"""

from __future__ import annotations

import signal
import time
from datetime import date

import pytest

from ledger import checks
from lending.settlement.models import Alert, AlertReason, RunChunk, RunState, SettlementRun
from partners.models import InboundFile
from tests.factories import operations as ops
from tests.functional.settlement.simulation import KILLS, MISSING, chaotic_pass, clean_pass
from tests.support.ledger import ledger_purge

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def purged_ledger_at_teardown():
    yield
    ledger_purge()  # the ledger refuses TRUNCATE while it holds rows; the flush comes next


def test_six_weeks_of_operations_with_late_files_and_killed_workers(
    broker_url, settings, purged_ledger_at_teardown, tmp_path
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    started = time.monotonic()
    clean = clean_pass(broker_url, settings)
    clean_s = time.monotonic() - started
    days = clean["days"]
    assert len(days) >= 30 and date(2026, 9, 20) in days and date(2026, 10, 10) in days
    assert date(2026, 9, 25) not in days and date(2026, 10, 1) not in days
    loans = sum(len(f["rows"]["loans"]) for f in clean["files"].values())
    kinds = {r[5] for f in clean["files"].values() for r in f["rows"]["repayments"]}
    payers = {r[4] for f in clean["files"].values() for r in f["rows"]["repayments"]}
    reversals = sum(len(f["rows"]["reversals"]) for f in clean["files"].values())
    on_holiday = [r for (code, day), f in clean["files"].items()
                  for r in f["rows"]["repayments"] if r[2] != day]
    assert loans >= 150 and kinds == {"SCHEDULED", "PREPAYMENT"} and reversals >= 3, (
        loans, kinds, reversals)
    assert payers == {"BORROWER", "GUARANTOR"}, payers
    assert any(date(2026, 10, 1) <= r[2] <= date(2026, 10, 7) for r in on_holiday), \
        "payments made in the National Day holiday were to come in the 10-08 files"

    chaos = chaotic_pass(broker_url, settings, clean, tmp_path)
    took = time.monotonic() - started
    nights = chaos["nights"]
    resent_chunks = list(RunChunk.objects.filter(dispatches__gt=1).values_list(
        "run__partner__code", "run__business_date", "step", "dispatches"))
    print(f"\nclean pass {clean_s:.0f}s, both passes {took:.0f}s; {loans} loans; "
          f"{len(nights.outs)} nights; kills: {nights.kills}; chunks dispatched more than "
          f"once: {resent_chunks}; worker starts that failed: {nights.failed_starts}")
    # Every check below is made and its failure noted, so that one run shows all that is wrong.
    problems: list[str] = []

    def check(ok: bool, what: str) -> None:
        if not ok:
            problems.append(what)

    # the disorder happened: nights found platforms waiting; the late platform was alerted once
    waited = {c for o in nights.outs for c in ops.PLATFORMS
              if o.get(c, {}).get("state") == RunState.WAITING}
    check(len(waited) >= 2, f"platforms seen WAITING by a night: {waited}")
    first_missing = days[MISSING[1]]
    check(Alert.objects.filter(reason=AlertReason.FILES_MISSING, partner__code=MISSING[0],
                               business_date=first_missing).count() == 1,
          f"no FILES_MISSING alert for {MISSING[0]} {first_missing}")
    failed = list(Alert.objects.filter(reason=AlertReason.RUN_FAILED)
                  .order_by("business_date").values_list("partner__code", "message"))
    foreign = [m for c, m in failed if any(f" file {o}_" in m for o in ops.PLATFORMS if o != c)]
    check(not failed, f"{len(failed)} runs FAILED on some night ({len(foreign)} of them on "
                      f"another platform's file), e.g. {[m for _c, m in failed[:3]]}")

    # the resend with changes was rejected and the original stays
    resent = [r for k, rs in chaos["answers"].items() if k.startswith("resend:") for r in rs]
    check(len(resent) == 1 and resent[0]["status"] == "REJECTED"
          and "a different repayments file" in (resent[0]["error"] or ""), f"resend: {resent}")
    original = InboundFile.objects.filter(name=resent[0]["file"], status="ACCEPTED")
    check([f.sha256 for f in original] == [clean["outcomes"][resent[0]["file"]][1]],
          "the original of the resent file is not the one accepted")
    # every other delivery was accepted
    others = [r for k, rs in chaos["answers"].items() if not k.startswith("resend:") for r in rs]
    check(len(others) == 4 * len(clean["files"]), f"{len(others)} deliveries")
    check(all(r["status"] == "ACCEPTED" for r in others),
          f"deliveries not accepted: {[r for r in others if r['status'] != 'ACCEPTED'][:3]}")

    # three workers killed -9 inside a chunk while another lived; each such chunk done after
    check(len({k["night"] for k in nights.kills}) >= KILLS, f"kills: {nights.kills}")
    check({k["step"] for k in nights.kills} == {"BOOK", "APPLY"}, f"kills: {nights.kills}")
    for k in nights.kills:
        chunk = RunChunk.objects.get(run_id=k["run"], step=k["step"], seq=k["seq"])
        check(k["returncode"] == -signal.SIGKILL and k["live"] >= 1
              and chunk.done_at is not None and chunk.dispatches >= 2,
              f"kill {k}: chunk done {chunk.done_at}, dispatches {chunk.dispatches}")

    # every business day DONE for every platform, nothing stuck, the books hold
    states = {(c, d): s for c, d, s in SettlementRun.objects.values_list(
        "partner__code", "business_date", "state")}
    expected = {(c, d): RunState.DONE for c in ops.PLATFORMS for d in days}
    not_done = sorted((k, v) for k, v in states.items() if expected.get(k) != v)
    check(states.keys() == expected.keys() and not not_done,
          f"{len(not_done)} runs not DONE, e.g. {not_done[:6]}; "
          f"days without a run: {sorted(expected.keys() - states.keys())[:6]}")
    ledger = checks.run_checks()
    check(ledger == [], f"check_ledger: {ledger[:5]}")

    # the same books as the clean run of the same files, in order, on one worker
    differ = sorted(k for k in clean["prints"] if chaos["prints"].get(k) != clean["prints"][k])
    attempts = dict(((c, d), n) for c, d, n in SettlementRun.objects.values_list(
        "partner__code", "business_date", "attempts"))
    check(not differ, f"{len(differ)} of {len(clean['prints'])} fingerprints differ from the "
                      f"clean run's: (platform, day, attempts) "
                      f"{[(c, str(d), attempts.get((c, d))) for c, d in differ]}")
    # where they part: the lines of each differing run, with the run's database id taken out
    real = [k for k in differ if clean["journals"].get(k) != chaos["journals"].get(k)]
    check(not differ, f"{len(differ) - len(real)} of them differ only in the run id inside "
                      f"their lines' source; the others' lines (only clean / only chaotic): "
          + str([(c, str(d), sorted(set(clean["journals"].get((c, d), []))
                                    - set(chaos["journals"].get((c, d), [])))[:3],
                  sorted(set(chaos["journals"].get((c, d), []))
                         - set(clean["journals"].get((c, d), [])))[:3]) for c, d in real]))
    differ = sorted(n for n in clean["outcomes"]
                    if chaos["outcomes"].get(n) != clean["outcomes"][n])
    check(not differ, f"{len(differ)} files' outcomes differ from the clean run's: " + str(
        [(n, clean["outcomes"][n][2:], chaos["outcomes"].get(n, ())[2:]) for n in differ]))
    # no bound on `took`: a timed assertion flakes on a loaded machine (the figure is printed)
    assert not problems, "\n".join(problems)
