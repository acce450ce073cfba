"""Partner API (read side): the requesting partner's reconciliation breaks.

Scoped exactly like the file endpoints of `partners.apis`: every read goes through a selector
filtered by `request.partner`. The statements are the run's output: `lending.settlement.apis`.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView

from lending.reconciliation import selectors
from lending.reconciliation.models import Break, BreakStatus
from partners.apis import PartnerApiMixin


class BreakSerializer(serializers.ModelSerializer):
    age_days = serializers.IntegerField(read_only=True)

    class Meta:
        model = Break
        fields = ["id", "business_date", "last_seen_on", "age_days", "loan_no", "kind", "field",
                  "ours", "theirs", "difference", "status", "resolution_note", "resolved_at"]
        read_only_fields = fields


def _date_param(request, name: str):
    value = request.query_params.get(name) or None
    return serializers.DateField().to_internal_value(value) if value else None


@extend_schema(parameters=[
    OpenApiParameter("status", str, description="OPEN, AUTO_CLEARED, RESOLVED or WRITTEN_OFF"),
    OpenApiParameter("business_date", str, description="first seen on, YYYY-MM-DD"),
])
class BreakListApi(PartnerApiMixin, ListAPIView):
    """The requesting partner's reconciliation breaks, newest first."""

    serializer_class = BreakSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Break.objects.none()
        status = self.request.query_params.get("status") or None
        if status is not None and status not in BreakStatus.values:
            raise serializers.ValidationError({"status": f"one of {', '.join(BreakStatus.values)}"})
        return selectors.break_list(partner=self.request.partner, status=status,
                                    business_date=_date_param(self.request, "business_date"))
