"""Partner API (read side): a partner's own inbound files and their quarantined rows.

Every read is scoped by the requesting partner: another partner's file answers 404. The upload
endpoint lives in `lending.intake.apis` (lending validates the rows; partners never imports
lending).
"""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView, ListAPIView, RetrieveAPIView
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.settings import api_settings

from partners import selectors
from partners.auth import IsPartnerUser
from partners.models import FileKind, InboundFile, QuarantinedRow

EXPORT_FORMATS = ("csv", "xlsx")  # the download renderers' formats (REST_FRAMEWORK settings)


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
    """`limit` (1.., at most 1000: a larger one is capped) and `offset` (0..); anything else is
    a 400 naming the parameter, not silently the default."""

    default_limit = 100
    max_limit = 1000

    def get_limit(self, request):
        if self.limit_query_param not in request.query_params:
            return self.default_limit
        raw = request.query_params[self.limit_query_param]  # present but empty: a 400
        return min(self._whole_number(raw, self.limit_query_param, minimum=1), self.max_limit)

    def get_offset(self, request):
        if self.offset_query_param not in request.query_params:
            return 0
        return self._whole_number(request.query_params[self.offset_query_param],
                                  self.offset_query_param, minimum=0)

    @staticmethod
    def _whole_number(raw: str, name: str, *, minimum: int) -> int:
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 18) or int(raw) < minimum:
            raise serializers.ValidationError(
                {name: [f"a whole number of at least {minimum} (at most 18 digits)"]})
        return int(raw)

    def get_schema_operation_parameters(self, view):
        params = super().get_schema_operation_parameters(view)
        for param in params:
            minimum = 1 if param["name"] == self.limit_query_param else 0
            param["schema"].update(minimum=minimum, maximum=10**18 - 1)
        return params


class PartnerApiMixin(GenericAPIView):
    """Listed first in the partner API's generic views: the partner permission, the strict
    paging, and the query filters."""

    permission_classes = [IsPartnerUser]
    pagination_class = Pagination
    export_name = "export"  # a CSV / XLSX download's file name (reports.renderers)

    def paginate_queryset(self, queryset):
        """A CSV or XLSX download (`Accept` or `?format=`) holds every row the filters select;
        with `limit` or `offset` it holds that page, like the JSON."""
        paging = self.pagination_class
        fmt = getattr(getattr(self.request, "accepted_renderer", None), "format", None)
        if fmt in EXPORT_FORMATS and paging is not None and not (
                {paging.limit_query_param, paging.offset_query_param}
                & set(self.request.query_params)):
            return None
        return super().paginate_queryset(queryset)

    def query_filters(self, filters: type[serializers.Serializer]) -> dict:
        """The query parameters validated by `filters` (400 naming each invalid one, an empty
        value too, and each parameter the endpoint does not have: a filter is never silently
        ignored)."""
        form = filters(data=self.request.query_params.dict())  # a plain dict: "" is a value
        paging = self.pagination_class
        known = set(form.fields) | {api_settings.URL_FORMAT_OVERRIDE} | (
            {paging.limit_query_param, paging.offset_query_param}
            if paging is not None and issubclass(paging, LimitOffsetPagination) else set())
        unknown = sorted(set(self.request.query_params) - known)
        if unknown:
            raise serializers.ValidationError({
                name: [f"unknown query parameter; this endpoint takes "
                       f"{', '.join(sorted(form.fields))}"] for name in unknown})
        form.is_valid(raise_exception=True)
        return form.validated_data


class DateRangeFilters(serializers.Serializer):
    """A business date, or a range of them: `from` and `to`, both inclusive."""

    business_date = serializers.DateField(required=False, help_text="YYYY-MM-DD")

    def get_fields(self):
        fields = super().get_fields()  # `from` is a Python keyword: added by name
        fields["from"] = serializers.DateField(
            required=False, help_text="YYYY-MM-DD: business dates from this day on")
        fields["to"] = serializers.DateField(
            required=False, help_text="YYYY-MM-DD: business dates up to this day")
        return fields  # `from` after `to`: an empty range, nothing listed


class InboundFileFilters(DateRangeFilters):
    kind = serializers.ChoiceField(choices=FileKind.choices, required=False)


@extend_schema(parameters=[InboundFileFilters])
class InboundFileListApi(PartnerApiMixin, ListAPIView):
    """The requesting partner's files, newest first."""

    serializer_class = InboundFileSerializer
    export_name = "files"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return InboundFile.objects.none()
        filters = self.query_filters(InboundFileFilters)
        return selectors.inbound_file_list(
            partner=self.request.partner, kind=filters.get("kind"),
            business_date=filters.get("business_date"), date_from=filters.get("from"),
            date_to=filters.get("to"),
        )


class InboundFileDetailApi(PartnerApiMixin, RetrieveAPIView):
    """One of the requesting partner's files (404 for anyone else's)."""

    serializer_class = InboundFileSerializer
    queryset = InboundFile.objects.none()  # for the schema; reads go through the selector
    export_name = "file"

    def get_object(self):
        obj = selectors.inbound_file_get(partner=self.request.partner, file_id=self.kwargs["pk"])
        if obj is None:
            raise Http404
        return obj


class QuarantinedRowListApi(PartnerApiMixin, ListAPIView):
    """The quarantined rows of one of the requesting partner's files."""

    serializer_class = QuarantinedRowSerializer
    queryset = QuarantinedRow.objects.none()
    export_name = "quarantined-rows"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return QuarantinedRow.objects.none()
        if selectors.inbound_file_get(partner=self.request.partner,
                                      file_id=self.kwargs["pk"]) is None:
            raise Http404
        return selectors.quarantined_row_list(partner=self.request.partner,
                                              file_id=self.kwargs["pk"])
