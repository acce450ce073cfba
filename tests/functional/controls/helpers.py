"""Staff users in the roles (controls.roles) and a helper to post admin forms as shown."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

PASSWORD = "role-pass-Zq81x"


def role_user(username: str, *roles: str, **extra):
    user = get_user_model().objects.create_user(username=username, password=PASSWORD,
                                                is_staff=True, **extra)
    user.groups.set(Group.objects.filter(name__in=roles))
    assert user.groups.count() == len(roles), roles  # the migration created the groups
    return user


def admin_form_data(response) -> dict:
    """The POST data of an admin change form as the page shows it (form and inlines)."""
    data = {}
    adminform = response.context["adminform"]
    for name, field in adminform.form.fields.items():
        value = adminform.form[name].value()
        if value is None:
            continue
        if isinstance(value, bool):
            if value:
                data[name] = "on"
            continue
        if hasattr(field.widget, "widgets"):  # a split date and time
            for i, part in enumerate(field.widget.decompress(value)):
                data[f"{name}_{i}"] = "" if part is None else str(part)
            continue
        if isinstance(value, list) and hasattr(field, "delimiter"):  # an array field
            value = field.prepare_value(value)
        data[name] = "" if value is None else value
    for inline in response.context["inline_admin_formsets"]:
        fs = inline.formset
        for name in fs.management_form.fields:
            data[f"{fs.prefix}-{name}"] = fs.management_form[name].value()
        for form in fs.forms:
            for name in form.fields:
                value = form[name].value()
                if value is None or value is False:
                    continue
                data[form.add_prefix(name)] = "on" if value is True else value
    return data
