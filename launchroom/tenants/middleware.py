"""Request middleware: security headers and bearer-token authentication for the API."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

from core.events import log_event
from core.types import User
from launchroom.models import ApiToken

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'"
)
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=()"


class SecurityHeadersMiddleware:
    """Adds the Content-Security-Policy (no inline script or style) and Permissions-Policy."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response


def _token_user(request: HttpRequest) -> User | None:
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_sha256=ApiToken.hash_key(key.strip()), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    return token.user if token else None


class ApiTokenMiddleware:
    """Authenticates ``/api/platform/`` requests that carry ``Authorization: Bearer <token>``.

    A request with a bad token is answered 401 rather than falling back to the session. A
    token request is no browser session, so it needs no CSRF token: the API views that write
    are ``csrf_exempt`` and check CSRF themselves unless ``request.api_token`` is set.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/platform/") and "Authorization" in request.headers:
            user = _token_user(request)
            log_event("api_token_use", actor=user, outcome="refused" if user is None else "accepted", path=request.path)
            if user is None:
                from django.http import JsonResponse

                return JsonResponse({"error": "invalid or revoked API token"}, status=401)
            request.user = SimpleLazyObject(lambda: user)  # type: ignore[assignment]  # a lazy stand-in for a User
            request.api_token = True  # type: ignore[attr-defined]  # read by the views it reaches
        return self.get_response(request)
