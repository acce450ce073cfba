"""Issue 22: the partner API's schema documents the downloads (CSV, XLSX) on the answers that
can be one — a read's success — and every error answer (4xx) as `application/json` only, which
is what the API sends whatever was asked (config/openapi.py, reports.renderers)."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db

JSON = "application/json"
DOWNLOADS = {"text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@pytest.fixture
def paths(tmp_path) -> dict:
    out = tmp_path / "schema.json"
    call_command("spectacular", "--validate", "--fail-on-warn", "--api-version", "v1",
                 "--format", "openapi-json", "--file", str(out))
    return json.loads(out.read_text())["paths"]


def test_every_error_answer_is_json_only(paths):
    errors = [(method, path, code, set(response.get("content", {})))
              for path, operations in paths.items() for method, op in operations.items()
              for code, response in op["responses"].items() if code.startswith("4")]
    assert len(errors) >= 40  # every operation has 401, 403, 429 at least
    assert [e for e in errors if e[3] != {JSON}] == []


def test_the_reads_list_the_downloads_on_success(paths):
    reads = {path: op["get"]["responses"]["200"] for path, op in paths.items() if "get" in op}
    assert {"/api/v1/statements/", "/api/v1/snapshot/", "/api/v1/breaks/",
            "/api/v1/statement-lines/{id}/movements/"} <= set(reads)
    for path, ok in reads.items():
        assert set(ok["content"]) == {JSON} | DOWNLOADS, path
