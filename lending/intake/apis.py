"""Partner API: upload a data file with its control file (multipart).

Answers with the same JSON object as `import_partner_file`: 201 when accepted, 200 for a
resend of the accepted file, 422 when the whole file is rejected (it is recorded all the same),
403 when the file or its control file names another partner (nothing recorded) or the
partner's status refuses it (`partners.auth`); 400, 401, 429 as every endpoint
(`config.openapi`).
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from lending.intake.services import NotYourFile, partner_file_import
from partners.auth import ErrorSerializer, PartnerMayUpload, PartnerRefusalSerializer
from partners.models import Channel, InboundFileStatus, PartnerApiKey


class UploadSerializer(serializers.Serializer):
    # empty files are the intake's to judge (REJECTED and recorded, the contract's answer)
    file = serializers.FileField(allow_empty_file=True,
                                 help_text="<PARTNER>_<KIND>_<YYYYMMDD>.csv")
    control = serializers.FileField(required=False, allow_empty_file=True,
                                    help_text="The control file (<name>.csv.ctl, JSON)")
    encoding = serializers.ChoiceField(choices=["utf-8", "gb18030", "gbk"], required=False,
                                       help_text="Default: the partner's profile")


class ImportSummarySerializer(serializers.Serializer):
    file = serializers.CharField()
    status = serializers.ChoiceField(choices=InboundFileStatus.choices)
    rows = serializers.IntegerField()
    quarantined = serializers.IntegerField()
    reasons = serializers.DictField(child=serializers.IntegerField())
    error = serializers.CharField(allow_null=True)


HTTP_STATUS = {
    InboundFileStatus.ACCEPTED: status.HTTP_201_CREATED,
    InboundFileStatus.DUPLICATE: status.HTTP_200_OK,
    InboundFileStatus.REJECTED: status.HTTP_422_UNPROCESSABLE_ENTITY,
}


class PartnerFileUploadApi(APIView):
    permission_classes = [PartnerMayUpload]
    parser_classes = [MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": UploadSerializer},
        responses={
            201: OpenApiResponse(ImportSummarySerializer, description="Accepted: its rows are "
                                 "staged for the day's run (some may be quarantined)."),
            200: OpenApiResponse(ImportSummarySerializer,
                                 description="A resend of a file already accepted: nothing new."),
            422: OpenApiResponse(ImportSummarySerializer, description="The whole file is "
                                 "rejected (recorded all the same); `error` says why."),
            403: OpenApiResponse(PartnerRefusalSerializer, description=(
                "The file or its control file names another partner (nothing recorded); or "
                "the partner's status refuses it: `partner_suspended` for a SUSPENDED "
                "partner's loans file, `partner_terminated` for any call of a TERMINATED "
                "partner.")),
            415: OpenApiResponse(ErrorSerializer,
                                 description="The body is not multipart/form-data."),
        },
    )
    def post(self, request, *args, **kwargs):
        form = UploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data["file"]
        control = form.validated_data.get("control")
        label = (f"key:{request.auth.prefix}" if isinstance(request.auth, PartnerApiKey)
                 else f"user:{request.user.get_username()}")
        try:
            result = partner_file_import(
                name=data.name, data=data, control=control.read() if control else None,
                encoding=form.validated_data.get("encoding"), channel=Channel.API,
                acting_partner=request.partner, sent_by=request.user, sent_by_label=label,
            )
        except NotYourFile as exc:
            raise PermissionDenied(str(exc)) from None
        return Response(result.as_dict(), status=HTTP_STATUS[result.status])
