"""The ledger is read only through ledger.selectors (issue 23): no module outside `ledger/`
names a ledger table (ledger_journalentry, ledger_journalline, ledger_account, ledger_book,
ledger_period, ...) in a string; it asks a selector a question with codes and keys instead.

Outside the scan: migrations, the tests and the dev-only benchmarks. Allowed: the database
roles, which grant privileges on the tables by name (that is their job, not a read). Pending:
a module that still reads them and is to move onto a selector; the test fails when it no
longer does, so that the entry goes."""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

from django.apps import apps

ROOT = Path(__file__).resolve().parents[3]
SKIP_DIRS = {".venv", "migrations", "node_modules", ".git", "__pycache__", ".pgdata", "var"}
SKIP_TOP = {"ledger", "tests", "benchmarks"}
ALLOWED = {"controls/db_roles.py"}  # GRANTs per table: the privileges, not a read
PENDING: set[str] = set()  # none left: the rounding account moved onto ledger.selectors.purposes


def _ledger_tables() -> set[str]:
    return {m._meta.db_table for m in apps.get_app_config("ledger").get_models()}


def _naming(root: Path, tables: set[str]) -> dict[str, set[str]]:
    """Module → the ledger tables its string tokens name, for every .py outside the skips."""
    pattern = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(map(re.escape, sorted(tables)))
                         + r")(?![A-Za-z0-9_])")
    out: dict[str, set[str]] = {}
    for path in root.rglob("*.py"):
        rel = path.relative_to(root)
        if SKIP_DIRS & set(rel.parts[:-1]) or rel.parts[0] in SKIP_TOP:
            continue
        source = path.read_text()
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.STRING and (found := set(pattern.findall(tok.string))):
                out.setdefault(rel.as_posix(), set()).update(found)
    return out


def test_the_tables_are_known():
    # a scan that knew no table would pass
    assert {"ledger_journalentry", "ledger_journalline", "ledger_account", "ledger_book",
            "ledger_period"} <= _ledger_tables()


def test_no_module_outside_the_ledger_names_a_ledger_table():
    naming = _naming(ROOT, _ledger_tables())
    offending = {path: tables for path, tables in naming.items()
                 if path not in ALLOWED | PENDING}
    assert offending == {}, "read the ledger through ledger.selectors"
    assert PENDING <= set(naming), "this module no longer names a ledger table: drop it here"


def test_the_scan_finds_a_table_in_sql_and_skips_the_ledger(tmp_path):
    for folder in ("lending/settlement", "ledger", "lending/migrations", "tests/x"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "m.py").write_text(
            'Q = """SELECT 1 FROM ledger_journalline l\n JOIN ledger_book b ON true"""\n')
    (tmp_path / "lending" / "settlement" / "ok.py").write_text(
        "# ledger_journalline in a comment\nfrom ledger import selectors as ledger_book\n"
        'S = "my_ledger_book ledger_books"\n')
    tables = {"ledger_journalline", "ledger_book"}
    assert _naming(tmp_path, tables) == {"lending/settlement/m.py": tables}
