"""Partner API (read side): the requesting partner's statements and reconciliation breaks.

Scoped exactly like the file endpoints of `partners.apis`: every read goes through a selector
filtered by `request.partner`; another partner's statement answers 404.
"""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView, RetrieveAPIView

from lending.reconciliation import selectors
from lending.reconciliation.models import Break, BreakStatus
from lending.settlement.models import Statement, StatementLine
from partners.apis import PartnerApiMixin


class StatementLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = StatementLine
        fields = ["line_type", "program_id", "amount", "description"]
        read_only_fields = fields


class StatementSerializer(serializers.ModelSerializer):
    lines = StatementLineSerializer(many=True, read_only=True)
    platform = serializers.CharField(source="run.partner.code", read_only=True,
                                     help_text="The platform whose run made the statement.")

    class Meta:
        model = Statement
        fields = ["id", "business_date", "platform", "net_amount", "currency", "lines"]
        read_only_fields = fields


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


@extend_schema(parameters=[OpenApiParameter("business_date", str, description="YYYY-MM-DD")])
class StatementListApi(PartnerApiMixin, ListAPIView):
    """The requesting partner's net settlement statements with their lines, newest first."""

    serializer_class = StatementSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Statement.objects.none()
        return selectors.statement_list(partner=self.request.partner,
                                        business_date=_date_param(self.request, "business_date"))


class StatementDetailApi(PartnerApiMixin, RetrieveAPIView):
    """One of the requesting partner's statements (404 for anyone else's)."""

    serializer_class = StatementSerializer
    queryset = Statement.objects.none()  # for the schema; reads go through the selector

    def get_object(self):
        obj = selectors.statement_get(partner=self.request.partner,
                                      statement_id=self.kwargs["pk"])
        if obj is None:
            raise Http404
        return obj


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
