"""Issue 21, acceptance 2: every role against every admin page and action, every admin view
and every API endpoint, listed from the admin registry and the URL conf (tests/functional/
controls/matrix.py), answers as docs/permissions.md says — and the table lists them all."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from partners import services as partner_services
from partners.models import PartnerUser
from tests.factories import lending as f
from tests.functional.controls import matrix
from tests.functional.controls.helpers import role_user

pytestmark = pytest.mark.django_db

YES, NO = "✓", "—"


def documented() -> dict[str, dict[str, bool]]:
    """docs/permissions.md's matrix: item → column → allowed."""
    text = (Path(settings.BASE_DIR) / matrix.DOC).read_text(encoding="utf-8")
    rows: dict[str, dict[str, bool]] = {}
    header = None
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or set(cells[0]) <= {"-", ":"}:
            continue
        if cells[0] == "item":
            header = cells[1:]
            assert tuple(header) == matrix.COLUMNS, header
            continue
        if header is None:
            continue  # a table before the matrix
        key = cells[0].strip("`")
        assert key not in rows, f"{key} twice in {matrix.DOC}"
        assert set(cells[1:]) <= {YES, NO}, line
        rows[key] = {col: cell == YES for col, cell in zip(header, cells[1:], strict=True)}
    return rows


def test_the_table_lists_every_page_action_view_and_endpoint():
    listed = {i.key for i in matrix.items()}
    doc = set(documented())
    assert not listed - doc, f"missing from {matrix.DOC}: {sorted(listed - doc)}"
    assert not doc - listed, f"in {matrix.DOC} but gone: {sorted(doc - listed)}"


def test_every_admin_action_names_the_permission_it_needs():
    unguarded = [f"{m._meta.label_lower}:{name}"
                 for m, ma in admin.site._registry.items()
                 for func, name, _ in ma._get_base_actions()
                 if not getattr(func, "allowed_permissions", None)]
    assert unguarded == []


def _partner_clients():
    platform = f.partner("ALPHA")
    user = get_user_model().objects.create_user("alpha-api", password="x")
    link = PartnerUser.objects.create(user=user, partner=platform)
    _, raw = partner_services.api_key_issue(partner_user=link, label="matrix")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    web = Client()
    web.force_login(user)
    return user, web, api


@pytest.mark.parametrize("column", matrix.COLUMNS)
def test_each_role_gets_exactly_what_the_table_says(column):
    expected = documented()
    if column == "partner":
        user, client, api = _partner_clients()
    else:
        user, api = role_user(f"m-{column}", column), None
        client = Client()
        client.force_login(user)
    wrong = []
    for item in matrix.items():
        got = matrix.allowed(client, user, item, api_client=api)
        if got != expected[item.key][column]:
            wrong.append(f"{item.key}: {'allowed' if got else 'refused'}, the table says "
                         f"{'allowed' if expected[item.key][column] else 'refused'}")
    assert wrong == [], "\n".join(wrong)
