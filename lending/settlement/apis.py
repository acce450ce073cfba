"""Partner API (read side): the requesting partner's net settlement statements.

Scoped exactly like the file endpoints of `partners.apis`: every read goes through a selector
filtered by `request.partner`; another partner's statement answers 404.
"""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView, RetrieveAPIView

from lending.settlement import selectors
from lending.settlement.models import Statement, StatementLine
from partners.apis import DateRangeFilters, PartnerApiMixin


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


class StatementFilters(DateRangeFilters):
    pass


@extend_schema(parameters=[StatementFilters])
class StatementListApi(PartnerApiMixin, ListAPIView):
    """The requesting partner's net settlement statements with their lines, newest first."""

    serializer_class = StatementSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Statement.objects.none()
        filters = self.query_filters(StatementFilters)
        return selectors.statement_list(partner=self.request.partner,
                                        business_date=filters.get("business_date"),
                                        date_from=filters.get("from"),
                                        date_to=filters.get("to"))


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
