"""Regulatory limits (issue 21): thresholds, the bank's figures, related parties.

Risk adds and changes them (models named like a limit: controls.roles), the auditor reads
them; the audit trail records every change (controls.models). A row is never deleted: a new
value is a new row with its own effective date."""

from __future__ import annotations

from django.contrib import admin

from controls.models import (
    LimitBankFigure,
    LimitRelatedParty,
    LimitRelatedPartyGroup,
    LimitThreshold,
)


class NoDeleteAdmin(admin.ModelAdmin):
    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LimitThreshold)
class LimitThresholdAdmin(NoDeleteAdmin):
    """Each limit's threshold and warning level from a date on: the row in force on a day is
    the one with the latest effective date on or before it."""

    list_display = ("code", "threshold", "warning_level", "effective_from", "note")
    list_filter = ("code",)
    ordering = ("code", "-effective_from")


@admin.register(LimitBankFigure)
class LimitBankFigureAdmin(NoDeleteAdmin):
    """The bank's net tier-1 capital and total loans, each from a date on (R2, R3)."""

    list_display = ("figure", "amount", "effective_from", "note")
    list_filter = ("figure",)
    ordering = ("figure", "-effective_from")


class LimitRelatedPartyInline(admin.TabularInline):
    model = LimitRelatedParty
    extra = 1

    def has_delete_permission(self, request, obj=None):  # leaving a group: a change
        return self.has_change_permission(request, obj)


@admin.register(LimitRelatedPartyGroup)
class LimitRelatedPartyGroupAdmin(NoDeleteAdmin):
    """Partners that are related parties of one another: R2 measures them together."""

    list_display = ("name", "members_list", "note")
    inlines = [LimitRelatedPartyInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("members__partner")

    @admin.display(description="members")
    def members_list(self, obj):
        return ", ".join(sorted(m.partner.code for m in obj.members.all()))
