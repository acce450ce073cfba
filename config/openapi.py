"""The partner API's OpenAPI contract (issue 21, finding 6): every operation lists every status
code it can answer, not only its success.

`PartnerApiSchema` (REST_FRAMEWORK's DEFAULT_SCHEMA_CLASS) adds to what each view declares:

- 401 — no credentials, or a wrong / revoked key (`WWW-Authenticate: Api-Key`);
- 403 — not a partner's user, or the partner's status refuses the call: the body then carries
  `code` `partner_terminated` (every call) or `partner_suspended` (a loans upload), the
  partner's code and status (`partners.auth.PartnerRefused`);
- 404 — an operation with a path parameter: another partner's or a missing object;
- 400 — an operation with query parameters or a request body: the invalid fields;
- 429 — throttled (the partner user's rate, or too many failed keys from one address), with
  `Retry-After` in seconds.

A view's own declaration of a code wins. Every error answer (4xx, 5xx) is documented as
`application/json` only: the CSV and XLSX renderers (reports.renderers) answer an error in
JSON whatever was asked, so only a success lists the downloads. Dates are `format: date`
(YYYY-MM-DD) throughout.
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse

from partners.auth import ErrorSerializer, PartnerRefusalSerializer

# {field: [message, ...]}: DRF's answer to invalid input
VALIDATION_ERRORS = {"type": "object",
                     "additionalProperties": {"type": "array", "items": {"type": "string"}}}

RESPONSES = {
    "400": OpenApiResponse(
        VALIDATION_ERRORS,
        description="Invalid input: each invalid field (or `non_field_errors`) with its "
                    "messages, e.g. `{\"business_date\": [\"Date has wrong format. Use one of "
                    "these formats instead: YYYY-MM-DD.\"]}`."),
    "401": OpenApiResponse(ErrorSerializer,
                           description="No credentials, or an invalid or revoked API key."),
    "403": OpenApiResponse(
        PartnerRefusalSerializer,
        description="Not a partner's user, or refused by the partner's status: "
                    "`partner_terminated` (its keys and users are refused) or "
                    "`partner_suspended` (its loans files are refused)."),
    "404": OpenApiResponse(ErrorSerializer,
                           description="No such object among the requesting partner's own."),
    "429": OpenApiResponse(
        ErrorSerializer,
        description="Throttled: the partner user's rate, or too many failed API keys from "
                    "this address. Retry after `Retry-After` seconds."),
}
ERROR_MEDIA_TYPE = "application/json"
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"},
                               "description": "Seconds to wait before the next call."}}


class PartnerApiSchema(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        codes = ["401", "403", "429"]
        if "{" in self.path:
            codes.append("404")
        if self._get_request_body() is not None or self._query_parameters():
            codes.append("400")
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(RESPONSES[code], code,
                                                              direction=direction)
        responses["429"].setdefault("headers", {}).update(RETRY_AFTER)
        for code, response in responses.items():
            content = response.get("content")
            if str(code)[:1] in "45" and content and ERROR_MEDIA_TYPE in content:
                response["content"] = {ERROR_MEDIA_TYPE: content[ERROR_MEDIA_TYPE]}
        return dict(sorted(responses.items()))

    def _query_parameters(self) -> bool:
        return any(p.get("in") == "query" for p in self._get_parameters())
