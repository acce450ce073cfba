"""The import contracts of .importlinter hold (issue 23, acceptance 1), so `make test` fails
as `make lint` does when `partners` or `ledger` import `lending`, when anything imports
`lending.tasks` (Celery's autodiscovery finds it), or when `reconciliation` imports
`settlement`."""

from __future__ import annotations

import configparser
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_every_import_contract_is_kept():
    contracts = configparser.ConfigParser()
    contracts.read(ROOT / ".importlinter")
    names = [contracts[s]["name"] for s in contracts.sections()
             if s.startswith("importlinter:contract:")]
    assert {"ledger imports no other app", "partners imports neither lending nor ledger",
            "lending.tasks is Celery's only: nothing imports it back",
            "lending.reconciliation does not import lending.settlement",
            "nothing outside the tests imports them (tests.support included)",
            "lending.services does not import lending.settlement"} <= set(names)

    result = _lint_imports()

    assert result.returncode == 0, result.stdout + result.stderr
    for name in names:
        assert f"{name} KEPT" in result.stdout, result.stdout


def test_a_broken_contract_fails_the_check(tmp_path):
    """The check sees imports inside functions too: settlement calls reconciliation from its
    finalize step (a lazy import), so the reverse of the reconciliation contract is broken."""
    config = tmp_path / "contracts.ini"
    config.write_text(
        "[importlinter]\nroot_packages =\n    lending\n\n"
        "[importlinter:contract:reverse]\nname = settlement does not import reconciliation\n"
        "type = forbidden\nsource_modules =\n    lending.settlement.runner\n"
        "forbidden_modules =\n    lending.reconciliation\n")

    result = _lint_imports("--config", str(config))

    assert result.returncode == 1, result.stdout + result.stderr
    assert "settlement does not import reconciliation BROKEN" in result.stdout
    assert "lending.settlement.runner -> lending.reconciliation.services" in result.stdout


def test_a_product_module_importing_the_test_support_breaks_the_contract(tmp_path):
    """The real `tests-out-of-the-product` contract, on a tree where a product module reaches
    for `tests.support` inside a function (as a fault hook or a purge helper would)."""
    real = configparser.ConfigParser()
    real.read(ROOT / ".importlinter")
    contract = real["importlinter:contract:tests-out-of-the-product"]
    sources = contract["source_modules"].split()
    assert {"partners", "ledger", "lending", "reports", "controls", "config",
            "benchmarks"} <= set(sources)
    for package in [*sources, "tests", "tests/support"]:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "tests" / "support" / "ledger.py").write_text("def ledger_purge(): pass\n")
    (tmp_path / "ledger" / "hooks.py").write_text(
        "def purge():\n    from tests.support.ledger import ledger_purge\n\n"
        "    ledger_purge()\n")
    config = configparser.ConfigParser()
    config["importlinter"] = {"root_packages": "\n" + "\n".join(sources),
                              "include_external_packages": "True"}
    config["importlinter:contract:tests-out-of-the-product"] = dict(contract)
    with (tmp_path / "contracts.ini").open("w") as out:
        config.write(out)

    result = _lint_imports("contracts.ini", cwd=tmp_path)

    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{contract['name']} BROKEN" in result.stdout
    # `tests` is outside the root packages: the linter names it whole
    assert "ledger.hooks -> tests (l.2)" in result.stdout, result.stdout
