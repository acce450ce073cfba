"""lending.domain and ledger.domain (every module, the loan-day engine included) import nothing
from Django (or any I/O layer) and never read the clock."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = ROOT / "lending" / "domain"
DOMAINS = {DOMAIN: "lending.domain", ROOT / "ledger" / "domain": "ledger.domain"}
FILES = sorted(p for d in DOMAINS for p in d.rglob("*.py"))

FORBIDDEN_MODULES = ("django", "rest_framework", "celery", "psycopg", "requests", "lending.models")
ALLOWED_TOP_LEVEL = {"__future__", "collections", "dataclasses", "datetime", "dateutil"}
ALLOWED_TOP_LEVEL |= {"decimal", "enum", "fractions", "typing", "math", "itertools", "functools"}
ALLOWED_TOP_LEVEL |= {"re", "copy"}
# Attribute chains that read the clock (or the OS / randomness).
CLOCK_CALLS = {
    ("date", "today"),
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("time", "time"),
    ("time", "monotonic"),
    ("time", "perf_counter"),
    ("timezone", "now"),
}
CLOCK_NAMES = {"now", "today", "utcnow", "localtime", "time_ns"}


def test_domain_package_has_modules():
    assert DOMAIN / "__init__.py" in FILES and len(FILES) >= 5
    names = {p.name for p in FILES}
    assert {"loan_day.py", "weights.py", "drafts.py", "money.py"} <= names


def _own_package(path: Path) -> str:
    return next(pkg for d, pkg in DOMAINS.items() if d in path.parents)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_domain_module_imports_no_django_and_never_reads_the_clock(path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import inside lending.domain
                continue
            names = [node.module or ""]
            for alias in node.names:
                assert alias.name not in CLOCK_NAMES, f"{path.name}: imports {alias.name}"
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            pair = (node.value.id, node.attr)
            assert pair not in CLOCK_CALLS, f"{path.name}:{node.lineno} reads the clock {pair}"
            continue
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute):
            pair = (node.value.attr, node.attr)
            assert pair not in CLOCK_CALLS, f"{path.name}:{node.lineno} reads the clock {pair}"
            continue
        else:
            continue
        for name in names:
            assert not name.startswith(FORBIDDEN_MODULES), f"{path.name}: imports {name}"
            if name == _own_package(path) or name.startswith(_own_package(path) + "."):
                continue  # an absolute import inside its own domain package
            top = name.split(".")[0]
            assert top in ALLOWED_TOP_LEVEL, f"{path.name}: imports {name} (I/O or framework?)"


def test_the_scan_catches_a_clock_read_and_a_django_import():
    """The scanner itself can fail (no test that cannot fail)."""
    bad = "from django.db import models\nfrom datetime import date\nx = date.today()\n"
    tree = ast.parse(bad)
    imports = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    reads = [
        (n.value.id, n.attr)
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
    ]
    assert any(m.startswith(FORBIDDEN_MODULES) for m in imports)
    assert any(r in CLOCK_CALLS for r in reads)
