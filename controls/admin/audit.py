"""The audit trail's admin (django-pghistory's events): browse, filter, export as CSV."""

from __future__ import annotations

import csv
import json

from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.http import StreamingHttpResponse
from django.urls import path
from pghistory.admin import EventsAdmin

from controls.admin.common import audit_viewer
from controls.permissions import ControlPermissions

EXPORT_COLUMNS = ("when", "event", "model", "object_id", "user_id", "username", "url",
                  "before", "after", "row")


class AuditEventsAdmin(ControlPermissions, EventsAdmin):
    """The audit trail: every tracked change, who made it, before and after (read-only; the
    event tables refuse updates and deletes). The auditor exports the filtered list as CSV."""

    change_list_template = "admin/controls/audit_change_list.html"

    def has_view_permission(self, request, obj=None):
        return audit_viewer(request) and super().has_view_permission(request, obj)

    def has_module_permission(self, request):
        return audit_viewer(request)

    def get_urls(self):
        return [path("export.csv", self.admin_site.admin_view(self.export_view),
                     name="controls_audit_export")] + super().get_urls()

    def export_view(self, request):
        """The events the list shows (its filters apply), as CSV, oldest first."""
        if not self.has_export_audit_permission(request):
            raise PermissionDenied
        changelist = self.get_changelist_instance(request)
        events = changelist.get_queryset(request).order_by("pgh_created_at", "pgh_slug")
        return StreamingHttpResponse(
            _csv_rows(events), content_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="audit-trail.csv"'})


def _csv_rows(events):
    class Echo:
        def write(self, value):
            return value

    writer = csv.writer(Echo())
    yield writer.writerow(EXPORT_COLUMNS)
    dump = lambda v: json.dumps(v, cls=DjangoJSONEncoder, ensure_ascii=False,  # noqa: E731
                                sort_keys=True)
    for e in events.iterator():
        context = e.pgh_context or {}
        diff = e.pgh_diff or {}
        yield writer.writerow((
            e.pgh_created_at.isoformat(), e.pgh_label, e.pgh_obj_model, e.pgh_obj_id,
            context.get("user", ""), context.get("username", ""), context.get("url", ""),
            dump({k: v[0] for k, v in diff.items()}), dump({k: v[1] for k, v in diff.items()}),
            dump(e.pgh_data),
        ))
