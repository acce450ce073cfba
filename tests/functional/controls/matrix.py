"""The permission matrix, enumerated from the admin registry and the URL conf (so a new page,
action, view or endpoint cannot be missed) and evaluated as a given user, over HTTP.

Each item is one row of docs/permissions.md; `allowed(...)` says whether the user may use it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.contrib import admin
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, reverse

ROLES = ("operator", "approver", "finance", "risk", "auditor", "administrator")
COLUMNS = (*ROLES, "partner")
DOC = "docs/permissions.md"

# Admin URLs that are not a page of their own: every staff member's index, the login and
# password pages, and Django's model pages (the model rows cover them).
_ADMIN_SHARED = {"index", "login", "logout", "password_change", "password_change_done",
                 "jsi18n", "app_list", "view_on_site", "autocomplete"}
_MODEL_PAGE = re.compile(r"_(changelist|add|change|delete|history)$")


@dataclass(frozen=True)
class Item:
    kind: str  # admin-view, admin-add, admin-change, admin-delete, admin-action, view, api
    target: str  # app.model, app.model:action, or a URL path
    method: str = "GET"

    @property
    def key(self) -> str:
        if self.kind == "api":
            return f"api {self.method} {self.target}"
        return f"{self.kind} {self.target}"


def _walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p


def _label(model) -> str:
    return model._meta.label_lower


def items() -> list[Item]:
    out: list[Item] = []
    for model, model_admin in sorted(admin.site._registry.items(), key=lambda x: _label(x[0])):
        label = _label(model)
        out += [Item(k, label) for k in ("admin-view", "admin-add", "admin-change",
                                         "admin-delete")]
        for _func, name, _desc in model_admin._get_base_actions():
            out.append(Item("admin-action", f"{label}:{name}"))
    for route, pattern in _walk(admin.site.get_urls(), "admin/"):
        name = pattern.name or ""
        if name in _ADMIN_SHARED or _MODEL_PAGE.search(name) or not name:
            continue
        out.append(Item("view", "/" + route))
    for route, pattern in _walk(get_resolver().url_patterns):
        if route.startswith("admin/"):
            continue
        methods = _methods(pattern)
        out += [Item("api", "/" + route, m) for m in methods]
    return out


def _methods(pattern) -> list[str]:
    view = getattr(pattern.callback, "view_class", None) or getattr(pattern.callback, "cls", None)
    if view is None:
        return ["GET"]
    return [m.upper() for m in ("get", "post", "put", "patch", "delete") if hasattr(view, m)]


def _path(route: str) -> str:
    """A concrete path of a route: the API version v1, any other parameter 0 (a missing object:
    a 404 still says the user got past the permission check)."""
    route = re.sub(r"<str:version>", "v1", route)
    route = re.sub(r"<path:object_id>", "0", route)
    return re.sub(r"<(?:\w+:)?\w+>", "0", route).replace("^", "").replace("$", "")


def allowed(client, user, item: Item, api_client=None) -> bool:
    """Whether `user` (logged in on `client`) may use `item`."""
    if item.kind.startswith("admin-"):
        if not (user.is_active and user.is_staff):
            return False
        label, _, action = item.target.partition(":")
        model_admin = next(ma for m, ma in admin.site._registry.items() if _label(m) == label)
        request = RequestFactory().get("/admin/")
        request.user = user
        if item.kind == "admin-view":
            url = reverse(f"admin:{label.replace('.', '_')}_changelist")
            return client.get(url).status_code == 200
        if item.kind == "admin-add":
            url = reverse(f"admin:{label.replace('.', '_')}_add")
            return client.get(url).status_code == 200
        if item.kind == "admin-change":
            return bool(model_admin.has_change_permission(request))
        if item.kind == "admin-delete":
            return bool(model_admin.has_delete_permission(request))
        return action in model_admin.get_actions(request)
    path = "/" + _path(item.target.lstrip("/"))
    c = api_client if (api_client is not None and item.kind == "api") else client
    status = getattr(c, item.method.lower())(path).status_code
    return status not in (401, 403) and not (status == 302 and item.kind == "view")
