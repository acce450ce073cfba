"""Issue 21, finding 4: passwords, login lockout, API throttles, production settings.

Before: 30 wrong admin passwords then the right one logged in; 200 random API keys got no 429;
`12345678` and `password` were accepted; with DEBUG=0 `SECRET_KEY=x` started; `check --deploy`
warned of HSTS, SSL redirect and insecure cookies.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from partners.models import PartnerUser
from partners.services import api_key_issue
from tests.factories import lending as f
from tests.functional.controls.helpers import role_user

pytestmark = pytest.mark.django_db

BASE = Path(settings.BASE_DIR)
GOOD = "tide-Lantern-orbit-47"


# --- Passwords -------------------------------------------------------------------------------

@pytest.mark.parametrize("weak", ["12345678", "password", "password1234", "98765432101234",
                                  "Short-1x"])
def test_weak_passwords_are_refused(weak):
    with pytest.raises(ValidationError):
        validate_password(weak)


def test_a_long_uncommon_password_passes_and_the_user_name_is_not_one():
    validate_password(GOOD)
    user = get_user_model()(username="mei.lin.treasury", email="mei.lin.treasury@bank.example")
    with pytest.raises(ValidationError, match="too similar"):
        validate_password("mei.lin.treasury", user=user)


def test_the_admin_refuses_a_weak_password_for_a_new_user():
    client = Client()
    client.force_login(role_user("ada", "administrator"))
    url = reverse("admin:auth_user_add")
    resp = client.post(url, {"username": "newbie", "password1": "12345678",
                             "password2": "12345678", "usable_password": "true"})
    assert resp.status_code == 200  # the form again, with the errors
    assert not get_user_model().objects.filter(username="newbie").exists()
    resp = client.post(url, {"username": "newbie", "password1": GOOD, "password2": GOOD,
                             "usable_password": "true"})
    assert resp.status_code == 302
    assert get_user_model().objects.filter(username="newbie").exists()


# --- Login lockout (django-axes) ----------------------------------------------------------------

def _login(client, username, password):
    return client.post(reverse("admin:login"), {"username": username, "password": password,
                                                "next": "/admin/"})


def _logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_thirty_wrong_passwords_then_the_right_one_does_not_log_in():
    get_user_model().objects.create_user("olga", password=GOOD, is_staff=True)
    client = Client()
    for _ in range(30):
        _login(client, "olga", "wrong-guess-123")
    resp = _login(client, "olga", GOOD)
    assert resp.status_code == 429
    assert not _logged_in(client)
    # from another address too: the account itself is locked
    other = Client(REMOTE_ADDR="10.9.8.7")
    assert _login(other, "olga", GOOD).status_code == 429 and not _logged_in(other)
    # an administrator lifts the lockout
    call_command("axes_reset_username", "olga")
    assert _login(other, "olga", GOOD).status_code == 302 and _logged_in(other)


def test_a_few_typos_do_not_lock_the_account():
    limit = settings.AXES_FAILURE_LIMIT
    assert limit == 5
    get_user_model().objects.create_user("olga", password=GOOD, is_staff=True)
    client = Client()
    for _ in range(limit - 1):
        assert _login(client, "olga", "typo-typo-123").status_code == 200
    assert _login(client, "olga", GOOD).status_code == 302 and _logged_in(client)


def test_password_spraying_from_one_address_is_locked():
    """Many user names from one address: the address is locked (ip_address parameter)."""
    get_user_model().objects.create_user("olga", password=GOOD, is_staff=True)
    client = Client(REMOTE_ADDR="203.0.113.5")
    for i in range(settings.AXES_FAILURE_LIMIT):
        _login(client, f"user{i}", "Spring2026!!")
    assert _login(client, "olga", GOOD).status_code == 429 and not _logged_in(client)
    assert _login(Client(REMOTE_ADDR="198.51.100.1"), "olga", GOOD).status_code == 302


# --- API throttles --------------------------------------------------------------------------------

def _rates(**rates):
    return override_settings(REST_FRAMEWORK={
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
                                   **rates}})


@pytest.fixture
def partner_key():
    partner = f.partner("ALPHA")
    user = get_user_model().objects.create_user("alpha-api", password=GOOD)
    _, raw = api_key_issue(partner_user=PartnerUser.objects.create(user=user, partner=partner))
    return raw


def _api(raw, addr="127.0.0.1"):
    client = APIClient(REMOTE_ADDR=addr)
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


def test_a_partner_key_gets_429_past_its_rate(partner_key):
    with _rates(partner="3/minute"):
        client = _api(partner_key)
        assert [client.get("/api/v1/files/").status_code for _ in range(3)] == [200] * 3
        resp = client.get("/api/v1/files/")
        assert resp.status_code == 429
        assert int(resp["Retry-After"]) > 0


def test_random_keys_get_429_and_then_even_a_right_key_from_there(partner_key):
    with _rates(api_key_failure="5/minute"):
        codes = [_api("pk_" + secrets.token_urlsafe(32)).get("/api/v1/files/").status_code
                 for _ in range(7)]
        assert codes == [401] * 5 + [429] * 2
        assert _api(partner_key).get("/api/v1/files/").status_code == 429
        # another address is not held back
        assert _api(partner_key, addr="10.1.2.3").get("/api/v1/files/").status_code == 200


def test_the_default_rates_stop_200_random_keys(partner_key):
    codes = [_api("pk_" + secrets.token_urlsafe(32)).get("/api/v1/files/").status_code
             for _ in range(200)]
    assert codes.count(429) >= 150 and set(codes) == {401, 429}


# --- Production settings ---------------------------------------------------------------------------

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(64),
    "ALLOWED_HOSTS": "lending.bank.example",
    "BORROWER_HASH_KEY": secrets.token_urlsafe(32),
    "DATABASE_URL": "postgres://lending_app@db.bank.example:5432/lending",
    "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
    "CSRF_TRUSTED_ORIGINS": "https://lending.bank.example",
}
_CLEAR = ("DEBUG", "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE",
          "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD",
          "SECURE_PROXY_SSL_HEADER", "AXES_LOCKOUT_PARAMETERS", "SECRET_KEY")


def _manage(*args, **env):
    full = {k: v for k, v in os.environ.items() if k not in _CLEAR}
    full.update(env)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=BASE, env=full,
                          capture_output=True, text=True, timeout=300)


def test_check_deploy_prints_no_issue_with_the_production_variables():
    result = _manage("check", "--deploy", "--fail-level", "DEBUG", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_names_what_an_operator_turned_off():
    result = _manage("check", "--deploy", **PRODUCTION, SECURE_SSL_REDIRECT="0",
                     SESSION_COOKIE_SECURE="0")
    assert "security.W008" in result.stderr and "security.W012" in result.stderr


@pytest.mark.parametrize("key", ["x", "k" * 60, secrets.token_urlsafe(30)[:49]])
def test_production_refuses_a_short_or_trivial_secret_key(key):
    result = _manage("check", **{**PRODUCTION, "SECRET_KEY": key})
    assert result.returncode != 0
    assert "SECRET_KEY of at least 50 random characters" in result.stderr


_SHOW = ("import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings');"
         "django.setup(); from django.conf import settings as s;"
         "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT,"
         " s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD,"
         " s.SECURE_PROXY_SSL_HEADER)")


def test_secure_by_default_in_production_and_plain_http_in_development():
    full = {k: v for k, v in os.environ.items() if k not in _CLEAR}
    prod = subprocess.run([sys.executable, "-c", _SHOW], cwd=BASE, capture_output=True,
                          text=True, env={**full, **PRODUCTION}, timeout=120)
    assert prod.stdout.split() == ["False", "True", "True", "True", "31536000", "True", "True",
                                   "('HTTP_X_FORWARDED_PROTO',", "'https')"], prod.stderr
    dev = subprocess.run([sys.executable, "-c", _SHOW], cwd=BASE, capture_output=True,
                         text=True, env={**full, "DATABASE_URL": PRODUCTION["DATABASE_URL"]},
                         timeout=120)
    assert dev.stdout.split() == ["True", "False", "False", "False", "0", "False", "False",
                                  "None"], dev.stderr
