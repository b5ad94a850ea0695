"""Error answers: JSON under ``/api/``, the site's own pages everywhere else.

A client of the API parses every answer as JSON, its errors included, so a 404 from the
URL resolver, a CSRF refusal, a 405 and even a 500 under ``/api/`` are JSON objects with
an ``error`` code. ``thesmios/urls.py`` names these as the project's handlers.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import csrf as csrf_views
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

API_PREFIX = "/api/"


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def json_error(status: int, code: str, detail: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"error": code, "detail": detail, **extra}, status=status)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return json_error(400, "bad_request", "The request could not be understood.")
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return json_error(403, "forbidden", "You may not do this.")
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api(request):
        return json_error(404, "not_found", "No such endpoint or object.")
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if is_api(request):
        return json_error(500, "server_error", "Something went wrong on our side; it has been logged.")
    return defaults.server_error(request)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: a session request without its CSRF token."""
    if is_api(request):
        return json_error(
            403, "csrf_failed", "Send the X-CSRFToken header with a session, or use Authorization: Bearer <token>."
        )
    return csrf_views.csrf_failure(request, reason)


def json_methods(*methods: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Allow only ``methods`` on an API view, answering any other with a JSON 405.

    For read-only endpoints (GET/HEAD only): they change nothing, so CSRF protection has
    nothing to guard and the 405 is the honest answer to a POST.
    """
    allowed = {m.upper() for m in methods}

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in allowed:
                response = json_error(405, "method_not_allowed", f"Use {' or '.join(sorted(allowed))}.")
                response["Allow"] = ", ".join(sorted(allowed))
                return response
            return view(request, *args, **kwargs)

        if allowed <= {"GET", "HEAD", "OPTIONS"}:
            return csrf_exempt(wrapped)
        return wrapped

    return decorator
