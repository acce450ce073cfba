"""Partner API (read side): a partner's own inbound files and their quarantined rows.

Every read is scoped by the requesting partner: another partner's file answers 404. The upload
endpoint lives in `lending.intake.apis` (lending validates the rows; partners never imports
lending).
"""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.pagination import LimitOffsetPagination

from partners import selectors
from partners.auth import IsPartnerUser
from partners.models import InboundFile, QuarantinedRow


class InboundFileSerializer(serializers.ModelSerializer):
    class Meta:
        model = InboundFile
        fields = ["id", "name", "kind", "business_date", "status", "rows", "amount_total",
                  "staged_count", "staged_amount", "quarantined_count", "quarantined_amount",
                  "reasons", "sha256", "size_bytes", "encoding", "channel", "received_at",
                  "error"]
        read_only_fields = fields


class QuarantinedRowSerializer(serializers.ModelSerializer):
    class Meta:
        model = QuarantinedRow
        fields = ["id", "row_no", "column", "reason", "message", "raw", "amount", "stage",
                  "created_at", "resolved", "resolution_note", "resolved_at"]
        read_only_fields = fields


class Pagination(LimitOffsetPagination):
    default_limit = 100
    max_limit = 1000


class PartnerApiMixin:
    permission_classes = [IsPartnerUser]
    pagination_class = Pagination


@extend_schema(parameters=[
    OpenApiParameter("kind", str, description="loans, repayments, reversals or balances"),
    OpenApiParameter("business_date", str, description="YYYY-MM-DD"),
])
class InboundFileListApi(PartnerApiMixin, ListAPIView):
    """The requesting partner's files, newest first."""

    serializer_class = InboundFileSerializer

    def get_queryset(self):
        day = self.request.query_params.get("business_date") or None
        if day:
            day = serializers.DateField().to_internal_value(day)
        return selectors.inbound_file_list(
            partner=self.request.partner, kind=self.request.query_params.get("kind") or None,
            business_date=day,
        )


class InboundFileDetailApi(PartnerApiMixin, RetrieveAPIView):
    """One of the requesting partner's files (404 for anyone else's)."""

    serializer_class = InboundFileSerializer
    queryset = InboundFile.objects.none()  # for the schema; reads go through the selector

    def get_object(self):
        obj = selectors.inbound_file_get(partner=self.request.partner, file_id=self.kwargs["pk"])
        if obj is None:
            raise Http404
        return obj


class QuarantinedRowListApi(PartnerApiMixin, ListAPIView):
    """The quarantined rows of one of the requesting partner's files."""

    serializer_class = QuarantinedRowSerializer
    queryset = QuarantinedRow.objects.none()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return QuarantinedRow.objects.none()
        if selectors.inbound_file_get(partner=self.request.partner,
                                      file_id=self.kwargs["pk"]) is None:
            raise Http404
        return selectors.quarantined_row_list(partner=self.request.partner,
                                              file_id=self.kwargs["pk"])
