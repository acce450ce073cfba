"""Partner API authentication: `Authorization: Api-Key <key>` (or `Bearer <key>`).

The partner's status is checked here, for every call (partners.services.partner_api_refusal):
a TERMINATED partner's keys and users are refused with 403; a SUSPENDED partner's loans
uploads are refused with 403 (`PartnerMayUpload`), everything else it still does.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions, serializers

from partners import selectors, services
from partners.files.contract import FILE_NAME_RE
from partners.throttles import ApiKeyFailureThrottle


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, for a person to read.")


class PartnerRefusalSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="Why the call is refused.")
    code = serializers.ChoiceField(
        choices=["partner_suspended", "partner_terminated"], required=False,
        help_text="Present when the partner's status refuses the call.")
    partner = serializers.CharField(required=False, help_text="The partner's code.")
    partner_status = serializers.ChoiceField(choices=["ACTIVE", "SUSPENDED", "TERMINATED"],
                                             required=False)


class PartnerRefused(exceptions.PermissionDenied):
    """403 with a JSON body that says why: {"detail", "code", "partner", "partner_status"}."""

    def __init__(self, partner, message: str):
        code = f"partner_{partner.status.lower()}"
        super().__init__(detail={"detail": message, "code": code, "partner": partner.code,
                                 "partner_status": partner.status}, code=code)


def _refuse_if_barred(partner, *, file_kind: str | None = None) -> None:
    reason = services.partner_api_refusal(partner=partner, file_kind=file_kind)
    if reason is not None:
        raise PartnerRefused(partner, reason)


class PartnerApiKeyAuthentication(authentication.BaseAuthentication):
    keywords = ("api-key", "bearer")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0].lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization header: Api-Key <key>")
        failures = ApiKeyFailureThrottle()
        if failures.blocked(request):  # key guessing from this address: 429 until it cools
            raise exceptions.Throttled(wait=failures.wait(),
                                       detail="too many failed API key attempts")
        key = services.api_key_authenticate(raw=header[1])
        if key is None:
            failures.record_failure(request)
            raise exceptions.AuthenticationFailed("invalid or revoked API key")
        _refuse_if_barred(key.partner_user.partner)  # a TERMINATED partner's key: 403
        request.partner = key.partner_user.partner
        return key.partner_user.user, key

    def authenticate_header(self, request) -> str:
        return "Api-Key"


class IsPartnerUser(permissions.BasePermission):
    """The user acts for a partner (API key or session of a linked user); sets request.partner."""

    message = "this user does not act for a partner"

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        partner = getattr(request, "partner", None) or selectors.partner_of_user(user=request.user)
        if partner is None:
            return False
        _refuse_if_barred(partner)  # a TERMINATED partner's user (session login too): 403
        request.partner = partner
        return True


class PartnerMayUpload(IsPartnerUser):
    """An upload: as `IsPartnerUser`, and a SUSPENDED partner's loans file is refused (403,
    nothing recorded). The kind comes from the file name; a name that does not parse is left
    to the intake, which rejects and records it."""

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        upload = request.data.get("file") if hasattr(request.data, "get") else None
        match = FILE_NAME_RE.match(getattr(upload, "name", "") or "")
        _refuse_if_barred(request.partner, file_kind=match.group("kind") if match else None)
        return True


class PartnerApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "partners.auth.PartnerApiKeyAuthentication"
    name = "PartnerApiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`Api-Key <key>`: a key staff issue in the admin."}
