"""The schedule's actions (django-celery-beat) need the change permission.

Its admin offers enable / disable / toggle / run to anyone who can open the page; the same
admin is registered again here with each action asking for the change permission."""

from __future__ import annotations

from django.contrib import admin
from django_celery_beat.admin import PeriodicTaskAdmin
from django_celery_beat.models import PeriodicTask


def _guarded(name: str):
    original = getattr(PeriodicTaskAdmin, name)

    @admin.action(description=original.short_description, permissions=["change"])
    def action(self, request, queryset):
        return original(self, request, queryset)

    action.__name__ = name
    return action


class GuardedPeriodicTaskAdmin(PeriodicTaskAdmin):
    enable_tasks = _guarded("enable_tasks")
    disable_tasks = _guarded("disable_tasks")
    toggle_tasks = _guarded("toggle_tasks")
    run_tasks = _guarded("run_tasks")


admin.site.unregister(PeriodicTask)
admin.site.register(PeriodicTask, GuardedPeriodicTaskAdmin)
