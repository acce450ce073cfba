"""Partner API authentication: `Authorization: Api-Key <key>` (or `Bearer <key>`)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from partners import selectors, services


class PartnerApiKeyAuthentication(authentication.BaseAuthentication):
    keywords = ("api-key", "bearer")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0].lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization header: Api-Key <key>")
        key = services.api_key_authenticate(raw=header[1])
        if key is None:
            raise exceptions.AuthenticationFailed("invalid or revoked API key")
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
        request.partner = partner
        return True


class PartnerApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "partners.auth.PartnerApiKeyAuthentication"
    name = "PartnerApiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`Api-Key <key>`: a key staff issue in the admin."}
