"""Which database the benchmarks may wipe: only one named explicitly.

The settlement benchmark's wipe (``bench_settlement --fresh``, or a rebuild for another N)
deletes the bench platform's loans, runs, statements and breaks. It runs only when the caller
names the benchmark database — ``--database-name NAME`` or the environment variable
``BENCH_DATABASE=NAME`` — and ``NAME`` is the database the connection is actually on
(``current_database()``, not the settings' NAME, which a test run or a service file may
change). A settings file pointed at the wrong server cannot then be wiped by accident.
"""

from __future__ import annotations

import os

from django.db import connection

ENV = "BENCH_DATABASE"


class WipeRefused(Exception):
    """The wipe was not given the connected database's name: nothing was deleted."""


def connected_database() -> str:
    with connection.cursor() as cur:
        cur.execute("SELECT current_database()")
        return cur.fetchone()[0]


def bench_database_confirm(named: str | None) -> str:
    """The connected database's name when ``named`` (or else $BENCH_DATABASE) is that name;
    otherwise WipeRefused, saying how to name it."""
    current = connected_database()
    given, source = (named, "--database-name") if named else (os.environ.get(ENV), ENV)
    if not given:
        raise WipeRefused(
            f"the wipe deletes the bench portfolio's loans, runs and statements: it runs only "
            f"when the benchmark database is named explicitly; pass --database-name {current} "
            f"(or set {ENV}={current}) if {current!r} is a benchmark database")
    if given != current:
        raise WipeRefused(f"{source} names the database {given!r}, but the connection is on "
                          f"{current!r}: nothing wiped")
    return current
