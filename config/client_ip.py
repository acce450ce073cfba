"""The client's address, the same way for the login lockout (django-axes) and the API throttles
(DRF): REMOTE_ADDR, or — behind API_NUM_PROXIES trusted proxies — the address that many hops
back in X-Forwarded-For (the hops the proxies appended, so a client cannot forge it)."""

from __future__ import annotations

from django.conf import settings


def client_ip(request) -> str | None:
    meta = getattr(request, "META", {})
    proxies = (getattr(settings, "REST_FRAMEWORK", {}) or {}).get("NUM_PROXIES")
    forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [a.strip() for a in forwarded.split(",") if a.strip()]
        if hops:
            return hops[-min(proxies, len(hops))]
    return meta.get("REMOTE_ADDR")
