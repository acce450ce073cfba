"""Partner API (read side): the requesting partner's reconciliation breaks.

Scoped exactly like the file endpoints of `partners.apis`: every read goes through a selector
filtered by `request.partner`. The statements are the run's output: `lending.settlement.apis`.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView

from lending.reconciliation import selectors
from lending.reconciliation.models import Break, BreakStatus
from partners.apis import DateRangeFilters, PartnerApiMixin


class BreakSerializer(serializers.ModelSerializer):
    age_days = serializers.IntegerField(read_only=True)

    class Meta:
        model = Break
        fields = ["id", "business_date", "last_seen_on", "age_days", "loan_no", "kind", "field",
                  "ours", "theirs", "difference", "status", "resolution_note", "resolved_at"]
        read_only_fields = fields


class BreakFilters(DateRangeFilters):
    """`business_date`, `from`, `to`: the day a break was first seen."""

    status = serializers.ChoiceField(choices=BreakStatus.choices, required=False)


@extend_schema(parameters=[BreakFilters])
class BreakListApi(PartnerApiMixin, ListAPIView):
    """The requesting partner's reconciliation breaks, newest first."""

    serializer_class = BreakSerializer
    export_name = "breaks"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Break.objects.none()
        filters = self.query_filters(BreakFilters)
        return selectors.break_list(partner=self.request.partner, status=filters.get("status"),
                                    business_date=filters.get("business_date"),
                                    date_from=filters.get("from"), date_to=filters.get("to"))
