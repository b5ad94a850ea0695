"""Hardening: production settings, security headers, failed-login throttling and
the health check.

Settings are read the way a deployment reads them: in a subprocess whose environment holds
only what production sets, so nothing of the test environment leaks into the answer.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings as django_settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

BASE_DIR = Path(__file__).resolve().parent.parent
ONE_YEAR = 365 * 24 * 60 * 60


PACKET_KEY = (
    Ed25519PrivateKey.generate()
    .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    .decode()
)


def production_env(tmp_path: Path, **overrides: str | None) -> dict[str, str]:
    """What a production deployment sets: DEBUG off, a real key, its host name. No more."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "LANG": "C.UTF-8",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "portal.example",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'production.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "PACKET_SIGNING_KEY": PACKET_KEY,
    }
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120, check=False
    )


# The settings module alone, as a fresh process reads it: its values are what the process
# would run with (django.setup(), a second of importing every app, would change none of them).
SETTINGS_DUMP = """
import json, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "thesmios.settings")
from django.conf import settings as s
names = json.loads(os.environ["DUMP"])
print(json.dumps({name: getattr(s, name, None) for name in names}, default=str))
"""


def production_settings(tmp_path: Path, *names: str) -> dict[str, Any]:
    env = production_env(tmp_path, DUMP=json.dumps(names))
    result = run(["-c", SETTINGS_DUMP], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# Production settings -------------------------------------------------------------------


def test_it_passes_the_deploy_check_with_production_settings(tmp_path: Path) -> None:
    # Production runs on PostgreSQL (SQLite fails the deploy check: tests/test_operations.py).
    env = production_env(tmp_path, DATABASE_URL="postgres://thesmios@db.invalid:5432/thesmios")
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_deploy_check_fails_naming_the_packet_key_when_it_is_unset(tmp_path: Path) -> None:
    result = run(["manage.py", "check", "--deploy"], production_env(tmp_path, PACKET_SIGNING_KEY=None))
    assert result.returncode != 0
    assert "set PACKET_SIGNING_KEY" in result.stdout + result.stderr


def test_it_is_secure_by_default_in_production(tmp_path: Path) -> None:
    s = production_settings(
        tmp_path,
        "DEBUG",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_SSL_REDIRECT",
        "SESSION_COOKIE_SECURE",
        "SESSION_COOKIE_HTTPONLY",
        "SESSION_COOKIE_SAMESITE",
        "SESSION_COOKIE_AGE",
        "CSRF_COOKIE_SECURE",
        "CSRF_COOKIE_HTTPONLY",
        "SECURE_CONTENT_TYPE_NOSNIFF",
        "SECURE_REFERRER_POLICY",
        "X_FRAME_OPTIONS",
        "AUTH_PASSWORD_VALIDATORS",
        "AXES_FAILURE_LIMIT",
        "AXES_LOCKOUT_PARAMETERS",
        "AXES_ENABLED",
    )
    assert s["DEBUG"] is False
    assert s["SECURE_HSTS_SECONDS"] >= ONE_YEAR
    assert s["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert s["SECURE_SSL_REDIRECT"] is True
    assert s["SESSION_COOKIE_SECURE"] is True
    assert s["SESSION_COOKIE_HTTPONLY"] is True
    assert s["SESSION_COOKIE_SAMESITE"] in ("Lax", "Strict")
    assert 0 < s["SESSION_COOKIE_AGE"] <= 12 * 60 * 60, "a session must expire within a working day"
    assert s["CSRF_COOKIE_SECURE"] is True
    assert s["CSRF_COOKIE_HTTPONLY"] is True
    assert s["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert s["SECURE_REFERRER_POLICY"] in ("same-origin", "strict-origin", "no-referrer")
    assert s["X_FRAME_OPTIONS"] == "DENY"
    validators = {v["NAME"].rsplit(".", 1)[-1]: v.get("OPTIONS", {}) for v in s["AUTH_PASSWORD_VALIDATORS"]}
    assert set(validators) >= {
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    }
    assert validators["MinimumLengthValidator"].get("min_length", 8) >= 12
    assert s["AXES_ENABLED"] is True
    assert s["AXES_FAILURE_LIMIT"] == 5
    assert s["AXES_LOCKOUT_PARAMETERS"] == [["username", "ip_address"]]


def test_it_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    result = run(["manage.py", "check"], production_env(tmp_path, SECRET_KEY=None))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY is required when DEBUG is off" in result.stderr


@pytest.mark.parametrize("command", [["migrate", "--check"], ["check", "--deploy"], ["seed_demo", "--force"]])
def test_it_refuses_every_command_but_makemigrations_without_a_secret_key(tmp_path: Path, command) -> None:
    result = run(["manage.py", *command], production_env(tmp_path, SECRET_KEY=None))
    assert result.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off" in result.stderr


def test_it_checks_migrations_on_a_fresh_checkout_without_a_secret_key(tmp_path: Path) -> None:
    result = run(["manage.py", "makemigrations", "--check", "--dry-run"], production_env(tmp_path, SECRET_KEY=None))
    assert result.returncode == 0, result.stderr
    assert "No changes detected" in result.stdout


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("EVIDENCE_MAX_UPLOAD_BYTES", "25MB"),
        ("EVIDENCE_MAX_UPLOAD_BYTES", "0"),
        ("EVIDENCE_MAX_UPLOAD_BYTES", "-1"),
        ("SESSION_COOKIE_AGE", "forever"),
        ("AXES_FAILURE_LIMIT", "0"),
    ],
)
def test_it_names_a_bad_setting(tmp_path: Path, name: str, value: str) -> None:
    result = run(["manage.py", "check"], production_env(tmp_path, **{name: value}))
    assert result.returncode != 0
    assert f"ImproperlyConfigured: {name} must be a positive integer, got {value!r}" in result.stderr


def test_it_uses_validators_that_refuse_weak_passwords(db: Any) -> None:
    from django.contrib.auth import get_user_model

    user = get_user_model()(username="olivia.okafor", email="olivia.okafor@thesmios.example")
    for weak in ("Sh0rt-pass", "password1234", "739214865302118", "olivia.okafor1"):
        with pytest.raises(ValidationError):
            validate_password(weak, user)
    validate_password("correct horse battery staple", user)


# Headers ---------------------------------------------------------------------------------


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


@pytest.mark.parametrize("path", ["/healthz", "/", "/managed-beta", "/accounts/login/", "/admin/login/", "/no-such"])
def test_it_sends_the_security_headers_on_every_response(client: Client, db: Any, path: str) -> None:
    response = client.get(path, secure=True)
    assert response.status_code in (200, 302, 404)

    csp = response.headers["Content-Security-Policy"]
    directives = csp_directives(csp)
    assert "'unsafe-inline'" not in csp
    assert "'unsafe-eval'" not in csp
    assert "*" not in csp
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["form-action"] == ["'self'"]

    assert response.headers["Strict-Transport-Security"] == f"max-age={ONE_YEAR}; includeSubDomains; preload"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in response.headers["Permissions-Policy"]


def test_it_sends_hsts_only_over_https(client: Client, db: Any) -> None:
    assert "Strict-Transport-Security" not in client.get("/healthz").headers
    assert "Strict-Transport-Security" in client.get("/healthz", secure=True).headers


def test_it_redirects_plain_http_to_https_except_the_health_check(settings: Any, db: Any) -> None:
    settings.SECURE_SSL_REDIRECT = True
    client = Client()  # a new handler, so SecurityMiddleware reads the setting
    response = client.get("/managed-beta")
    assert response.status_code == 301
    assert response.headers["Location"] == "https://testserver/managed-beta"
    assert client.get("/healthz").status_code == 200


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "an inline <script>"),
    (re.compile(r"<style\b", re.I), "a <style> block"),
    (re.compile(r"\sstyle\s*=", re.I), "a style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an inline event handler"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
]


def test_it_keeps_templates_free_of_what_the_csp_blocks() -> None:
    """The CSP forbids inline script and style, so a template that used them would break."""
    problems = []
    for template in sorted((BASE_DIR / "templates").rglob("*.html")):
        text = template.read_text()
        for pattern, what in INLINE:
            for match in pattern.finditer(text):
                # A JSON data island is data, not script; the CSP does not run it.
                if what == "an inline <script>" and 'type="application/json"' in match.group(0):
                    continue
                line = text.count("\n", 0, match.start()) + 1
                problems.append(f"{template.relative_to(BASE_DIR)}:{line}: {what}")
    assert problems == []


# Cookies and sessions --------------------------------------------------------------------


def test_it_sets_secure_http_only_expiring_session_cookies(client: Client, staff: dict[str, Any]) -> None:
    response = client.post(reverse("login"), {"username": "operator", "password": "demo"}, secure=True)
    assert response.status_code == 302
    session = response.cookies[django_settings.SESSION_COOKIE_NAME]
    assert session["secure"] is True
    assert session["httponly"] is True
    assert session["samesite"] == "Lax"
    assert int(session["max-age"]) == django_settings.SESSION_COOKIE_AGE <= 12 * 60 * 60


def test_it_sets_a_secure_http_only_csrf_cookie(client: Client, db: Any) -> None:
    response = client.get("/admin/login/", secure=True)
    csrf = response.cookies[django_settings.CSRF_COOKIE_NAME]
    assert csrf["secure"] is True
    assert csrf["httponly"] is True


# Failed-login throttling (django-axes) ---------------------------------------------------


def login(client: Client, username: str, password: str, path: str = "/accounts/login/") -> Any:
    return client.post(path, {"username": username, "password": password}, secure=True)


def test_it_locks_out_a_username_after_five_failed_logins(client: Client, staff: dict[str, Any]) -> None:
    for attempt in range(1, 5):
        response = login(client, "finance", f"wrong-{attempt}")
        assert response.status_code == 200, f"attempt {attempt} should show the form again"
        assert "_auth_user_id" not in client.session

    # The fifth failure reaches the limit and is answered with the lockout; so is the sixth.
    for _ in (5, 6):
        response = login(client, "finance", "still-wrong")
        assert response.status_code == 429
        assert "registration/locked_out.html" in [t.name for t in response.templates]

    # While locked, even the right password is refused, on the admin's login too.
    assert login(client, "finance", "demo").status_code == 429
    assert login(client, "finance", "demo", "/admin/login/").status_code == 429
    assert "_auth_user_id" not in client.session


def test_it_locks_only_that_username_from_that_address(client: Client, staff: dict[str, Any]) -> None:
    for attempt in range(5):
        login(client, "finance", f"wrong-{attempt}")
    assert login(client, "finance", "demo").status_code == 429

    response = login(client, "security", "demo")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(staff["security"].pk)


def test_it_forgives_failures_after_a_successful_login(client: Client, staff: dict[str, Any]) -> None:
    for attempt in range(4):
        login(client, "support", f"wrong-{attempt}")
    assert login(client, "support", "demo").status_code == 302
    client.logout()
    for attempt in range(4):
        assert login(client, "support", f"wrong-again-{attempt}").status_code == 200


# Health check ----------------------------------------------------------------------------


def test_it_answers_healthz_when_the_database_answers(client: Client, db: Any) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert "no-cache" in response.headers["Cache-Control"]


HEALTHZ_REQUEST = """
import json, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "thesmios.settings")
import django
django.setup()
from django.test import Client
response = Client().get("/healthz", secure=True)
print(json.dumps({"status": response.status_code, "body": response.json()}))
"""


def test_it_answers_503_when_the_database_is_down(tmp_path: Path) -> None:
    # Nothing listens on port 9 (discard): a real connection that is refused, not a mock.
    env = production_env(tmp_path, DATABASE_URL="postgres://postgres@127.0.0.1:9/thesmios", ALLOWED_HOSTS="testserver")
    result = run(["-c", HEALTHZ_REQUEST], env)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer == {"status": 503, "body": {"status": "unavailable", "database": "down"}}
