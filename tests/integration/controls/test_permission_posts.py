"""Issue 21, acceptance 2, the other method: the permission matrix
(tests/functional/controls/test_permission_matrix.py) reads a function view and an admin view
with GET, but some of them act on POST (a partner confirms or disputes a statement, staff triage
breaks, finance drafts a manual journal, staff correct a quarantined row). Here every such page
that docs/permissions.md refuses to a role or to a partner user is POSTed as them, and must be
refused as the GET is: no view acts on a POST that skips the check its page makes."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.functional.controls import matrix
from tests.functional.controls.helpers import role_user
from tests.functional.controls.test_permission_matrix import _partner_clients, documented

pytestmark = pytest.mark.django_db


def _posted_pages() -> list[matrix.Item]:
    """Admin views and the function views of the URL conf: those the matrix reads with GET
    only (a class-based endpoint's POST is a row of its own)."""
    items = matrix.items()
    posts = {i.target for i in items if i.method == "POST"}
    return [i for i in items if i.kind in ("view", "api") and i.method == "GET"
            and i.target not in posts]


def _refused(resp, kind: str) -> bool:
    if resp.status_code in (401, 403, 405):
        return True
    # the admin sends a user without the page's permission to its login page
    return kind == "view" and resp.status_code == 302 and "login" in resp["Location"]


@pytest.mark.parametrize("column", matrix.COLUMNS)
def test_a_post_is_refused_wherever_the_table_refuses_the_page(column):
    expected = documented()
    if column == "partner":
        _, client, _ = _partner_clients()
    else:
        client = Client()
        client.force_login(role_user(f"p-{column}", column))
    pages = [i for i in _posted_pages() if not expected[i.key][column]]
    assert pages, column  # every column is refused some page (the test cannot pass empty)
    let_through = []
    for item in pages:
        resp = client.post("/" + matrix._path(item.target.lstrip("/")), {"reason": "x"})
        if not _refused(resp, item.kind):
            let_through.append(f"POST {item.target}: {resp.status_code}")
    assert let_through == []
