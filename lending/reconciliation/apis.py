"""Partner API (read side): the requesting partner's reconciliation breaks and the bank's
snapshot of its loans on a day (`LoanSnapshotApi`).

Scoped exactly like the file endpoints of `partners.apis`: every read goes through a selector
filtered by `request.partner`. The statements are the run's output: `lending.settlement.apis`.
"""

from __future__ import annotations

import csv
import io

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


# --- The bank's loan snapshot ---------------------------------------------------------------

class SnapshotFunderSerializer(serializers.Serializer):
    funder = serializers.CharField(help_text="The funder's code (the bank first).")
    principal = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True)
    interest = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True)
    penalty = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True,
                                       help_text="Penalty and compound interest.")


class SnapshotRowSerializer(serializers.Serializer):
    """One loan of the bank's end-of-day snapshot: the `balances` file's columns, the class,
    the accrual flag and each funder's share (`funders`: columns `bank_principal`, … in the
    CSV and XLSX)."""

    loan_no = serializers.CharField()
    as_of = serializers.DateField()
    principal_outstanding = serializers.DecimalField(max_digits=20, decimal_places=2)
    interest_outstanding = serializers.DecimalField(max_digits=20, decimal_places=2)
    penalty_outstanding = serializers.DecimalField(max_digits=20, decimal_places=2)
    dpd = serializers.IntegerField()
    status = serializers.CharField()
    risk_class = serializers.CharField(help_text="The loan's five-category class.")
    accruing = serializers.BooleanField()
    funders = SnapshotFunderSerializer(many=True)


class SnapshotFilters(serializers.Serializer):
    business_date = serializers.DateField(help_text="YYYY-MM-DD: the snapshot's day")


def snapshot_rows(*, partner, business_date) -> list[dict]:
    """The partner's loans in the bank's snapshot of the day, as the serializer's rows."""
    buffer = io.StringIO()
    selectors.loan_snapshot_text(business_date=business_date, partner_id=partner.pk,
                                 write=buffer.write)
    buffer.seek(0)
    reader = csv.DictReader(buffer)
    funders = sorted({h.rsplit("_", 1)[0] for h in reader.fieldnames or []
                      if h.endswith("_principal")},
                     key=lambda code: (reader.fieldnames or []).index(f"{code}_principal"))
    return [{"loan_no": r["loan_no"], "as_of": r["as_of"],
             "principal_outstanding": r["principal_outstanding"],
             "interest_outstanding": r["interest_outstanding"],
             "penalty_outstanding": r["penalty_outstanding"], "dpd": int(r["dpd"]),
             "status": r["status"], "risk_class": r["class"], "accruing": r["accruing"] == "true",
             "funders": [{"funder": code.upper(), "principal": r[f"{code}_principal"] or None,
                          "interest": r[f"{code}_interest"] or None,
                          "penalty": r[f"{code}_penalty"] or None} for code in funders]}
            for r in reader]


@extend_schema(parameters=[SnapshotFilters])
class LoanSnapshotApi(PartnerApiMixin, ListAPIView):
    """The bank's end-of-day snapshot of the requesting partner's loans on a business date
    (by loan number), each with its funders' shares."""

    serializer_class = SnapshotRowSerializer
    export_name, export_wide = "loan-snapshot", "funders"  # bank_principal, … as columns

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return []
        day = self.query_filters(SnapshotFilters)["business_date"]
        return snapshot_rows(partner=self.request.partner, business_date=day)
