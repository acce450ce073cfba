"""Partner API throttles (issue 21, finding 4): rates in REST_FRAMEWORK's
DEFAULT_THROTTLE_RATES, set from the environment (config/settings.py).

- `partner`: calls of one authenticated user (a partner key's user, or a session) per period;
  the N+1th answers 429 with Retry-After.
- `api_key_failure`: failed API-key authentications from one client address per period. A
  wrong key is refused with 401 before any throttle could run (DRF authenticates first), so
  key guessing is counted here, in the authentication itself: past the rate every key from
  that address, right or wrong, answers 429 until the period has passed.

The rates are read at each request (not frozen at import as DRF's class attribute is), so
`override_settings(REST_FRAMEWORK=...)` and a changed environment take effect.
"""

from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


class _LiveRate(SimpleRateThrottle):
    def __init__(self):  # the rate of the settings in force, not of import time
        self.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
        super().__init__()


class PartnerRateThrottle(_LiveRate):
    scope = "partner"

    def get_cache_key(self, request, view):
        user = getattr(request, "user", None)
        ident = f"user-{user.pk}" if user is not None and user.is_authenticated \
            else f"ip-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class ApiKeyFailureThrottle(_LiveRate):
    scope = "api_key_failure"
    # set by SimpleRateThrottle.__init__ from the rate (parse_rate); read only when a rate is set
    num_requests: int
    duration: int

    def get_cache_key(self, request, view=None):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def _load(self, request) -> None:
        self.key = self.get_cache_key(request)
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()

    def blocked(self, request) -> bool:
        """Whether this address used up its failed attempts (nothing is counted)."""
        if self.rate is None:
            return False
        self._load(request)
        return len(self.history) >= self.num_requests

    def record_failure(self, request) -> None:
        if self.rate is None:
            return
        self._load(request)
        self.history.insert(0, self.now)
        self.cache.set(self.key, self.history, self.duration)
