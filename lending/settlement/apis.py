"""Partner API: the requesting partner's net settlement statements, which it confirms or
disputes (lending.settlement.statements).

Scoped exactly like the file endpoints of `partners.apis`: every read goes through a selector
filtered by `request.partner`; another partner's statement answers 404. A confirmation or a
dispute that the statement's status does not allow answers 409 with the reason. A statement
line's movements (`StatementLineMovementsApi`) are its loan-level detail: per loan, the
partner's transaction, event and component, each funder's amount; they add up to the line.
"""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.parsers import FormParser, JSONParser
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from lending.settlement import selectors, statements
from lending.settlement.models import Statement, StatementLine
from partners.apis import DateRangeFilters, PartnerApiMixin
from partners.auth import ErrorSerializer, IsPartnerUser


class StatementLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = StatementLine
        fields = ["id", "line_type", "program_id", "amount", "description"]
        read_only_fields = fields
        extra_kwargs = {"id": {"help_text": "Its movements: `statement-lines/<id>/movements/`."}}


class StatementSerializer(serializers.ModelSerializer):
    lines = StatementLineSerializer(many=True, read_only=True)
    platform = serializers.CharField(source="run.partner.code", read_only=True,
                                     help_text="The platform whose run made the statement.")

    class Meta:
        model = Statement
        fields = ["id", "business_date", "platform", "net_amount", "currency", "status",
                  "due_date", "payment_reference", "dispute_reason", "paid_on", "lines"]
        read_only_fields = fields
        extra_kwargs = {
            "status": {"help_text": "ISSUED (its run is DONE), CONFIRMED or DISPUTED by the "
                                    "partner, PAID when payments cover the net amount."},
            "due_date": {"help_text": "The payment is due on this business day (T+1)."},
            "payment_reference": {"help_text": "Quote it on the payment."},
        }


class StatementFilters(DateRangeFilters):
    pass


@extend_schema(parameters=[StatementFilters])
class StatementListApi(PartnerApiMixin, ListAPIView):
    """The requesting partner's net settlement statements with their lines, newest first."""

    serializer_class = StatementSerializer
    export_name, export_row = "statements", "statement"  # XLSX: a sheet of lines too

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
    export_name, export_row = "statement", "statement"
    export_csv_table = "lines"  # a statement's CSV: its lines (the XLSX has both sheets)

    def get_object(self):
        obj = selectors.statement_get(partner=self.request.partner,
                                      statement_id=self.kwargs["pk"])
        if obj is None:
            raise Http404
        return obj


class DisputeSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text="Why the statement is wrong.")


def _own(request, pk: int) -> Statement:
    obj = selectors.statement_get(partner=request.partner, statement_id=pk)
    if obj is None:
        raise Http404
    return obj


_REFUSED = OpenApiResponse(ErrorSerializer, description=(
    "The statement's status does not allow it (e.g. it is PAID, or already confirmed); "
    "`detail` says why."))


class _OwnStatementAction(APIView):
    """POST on one of the partner's statements; another method on another partner's statement
    answers 404 like everything else of another partner's (not 405)."""

    permission_classes = [IsPartnerUser]
    # an action's answer is JSON (or the browsable page), never a download
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer]

    def http_method_not_allowed(self, request, *args, **kwargs):
        _own(request, kwargs["pk"])
        return super().http_method_not_allowed(request, *args, **kwargs)


class StatementConfirmApi(_OwnStatementAction):
    """Confirm one of the requesting partner's statements: ISSUED or DISPUTED → CONFIRMED."""

    @extend_schema(request=None, responses={
        200: OpenApiResponse(StatementSerializer, description="Confirmed: the statement."),
        409: _REFUSED})
    def post(self, request, pk: int, *args, **kwargs):
        st = _own(request, pk)
        try:
            statements.statement_confirm(statement=st, by=request.user)
        except statements.StatementError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(StatementSerializer(_own(request, pk)).data)


class StatementDisputeApi(_OwnStatementAction):
    """Dispute one of the requesting partner's statements, saying why: ISSUED → DISPUTED."""

    parser_classes = [JSONParser, FormParser]

    @extend_schema(request=DisputeSerializer, responses={
        200: OpenApiResponse(StatementSerializer, description="Disputed: the statement."),
        409: _REFUSED,
        415: OpenApiResponse(ErrorSerializer, description="The body is not JSON or a form.")})
    def post(self, request, pk: int, *args, **kwargs):
        st = _own(request, pk)
        form = DisputeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            statements.statement_dispute(statement=st, by=request.user,
                                         reason=form.validated_data["reason"])
        except statements.TransitionRefused as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        except statements.StatementError as exc:
            raise serializers.ValidationError({exc.field or "reason": [str(exc)]}) from exc
        return Response(StatementSerializer(_own(request, pk)).data)


# --- A statement line's movements (loan-level detail) ---------------------------------------

class MovementFunderSerializer(serializers.Serializer):
    funder = serializers.CharField(help_text="The funder's code (the bank first).")
    amount = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True,
                                      help_text="The funder's movement (null: none).")


class LineMovementSerializer(serializers.Serializer):
    """One loan, transaction, event and component behind the line: `amount` is what it adds
    to the line; `funders` each funder's movement (columns `bank_amount`, … in the CSV and
    XLSX). The amounts of all rows add up to the line's amount."""

    loan_no = serializers.CharField()
    txn_no = serializers.CharField(help_text="The partner's transaction number ('' for none).")
    event = serializers.CharField()
    component = serializers.CharField()
    amount = serializers.DecimalField(max_digits=20, decimal_places=2)
    funders = MovementFunderSerializer(many=True)


class _LineMovementRows:
    """A line's movement rows for the paginator: counted once, a slice read from the
    database (LIMIT/OFFSET), all of them only for an unpaged download."""

    def __init__(self, *, partner, line_id: int):
        self.partner, self.line_id = partner, line_id
        first = selectors.line_movements(partner=partner, line_id=line_id, page_size=0)
        self.row_count = first.row_count

    def __len__(self) -> int:
        return self.row_count

    def _read(self, offset: int, limit: int) -> list[dict]:
        if limit <= 0:
            return []
        found = selectors.line_movements(partner=self.partner, line_id=self.line_id,
                                         offset=offset, page_size=limit)
        return [{**r, "funders": [{"funder": code, "amount": amount} for code, amount
                                  in zip(found.funder_codes, r["funders"], strict=True)]}
                for r in found.rows]

    def __getitem__(self, index):
        if isinstance(index, slice):
            start, stop, step = index.indices(self.row_count)
            return self._read(start, stop - start)[::step]
        if not -self.row_count <= index < self.row_count:
            raise IndexError(index)
        return self._read(index % self.row_count, 1)[0]

    def __iter__(self):
        return iter(self._read(0, self.row_count))


class LineMovementFilters(serializers.Serializer):
    pass  # paging only (`limit`, `offset`)


class StatementLineMovementsApi(PartnerApiMixin, ListAPIView):
    """The movements behind a line of one of the requesting partner's statements (404 for
    anyone else's line), by loan number."""

    serializer_class = LineMovementSerializer
    export_name, export_wide = "statement-line-movements", "funders"  # bank_amount, …

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return []
        self.query_filters(LineMovementFilters)
        try:
            return _LineMovementRows(partner=self.request.partner, line_id=self.kwargs["pk"])
        except StatementLine.DoesNotExist as exc:
            raise Http404 from exc
