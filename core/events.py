"""The audit event log: one structured line per decision, refusal, failed login, token use
and proof run, on the logger ``thesmios.events``.

Each call is a single line in the code that acts: ``log_event("gate_decision", tenant=...,
actor=..., outcome=...)``. Fields are plain values; anything named like a secret is dropped
and long text is cut, so no password, token or evidence content reaches the logs. The
request id is added to every line by the logging filter (django-guid), not here.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.dispatch import receiver
from django.http import Http404, HttpRequest, HttpResponse
from django_guid.context import guid

from core.errors import NotPermitted, Refused

P = ParamSpec("P")
R = TypeVar("R")

logger = logging.getLogger("thesmios.events")

# Field names never logged, whatever a caller passes: credentials and evidence bodies. A name
# is dropped when it contains one of SECRET_WORDS or one of its _-parts is in SECRET_PARTS.
SECRET_WORDS = ("password", "secret", "token", "credential", "passphrase")
SECRET_PARTS = frozenset({"key", "otp", "code", "content", "contents", "output", "body", "file"})
# Names the logging module itself uses on a record: a field of that name is renamed.
RESERVED = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
MAX_TEXT = 300


def _clean(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, list | tuple):
        return [_clean(item) for item in list(value)[:20]]
    if hasattr(value, "get_username"):
        value = value.get_username()
    elif hasattr(value, "slug"):
        value = value.slug
    text = str(value)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"


def event_fields(name: str, fields: dict[str, Any]) -> dict[str, Any]:
    """The ``extra`` of an event line: the event name and every field that is safe to log."""
    extra: dict[str, Any] = {"event": name}
    for field, value in fields.items():
        lowered = field.lower()
        if any(word in lowered for word in SECRET_WORDS) or SECRET_PARTS & set(lowered.split("_")):
            continue
        extra[f"{field}_" if field in RESERVED else field] = _clean(value)
    return extra


# The names of the events logged while a view wrapped by ``refusals_logged`` runs.
_logged_in_view: ContextVar[set[str] | None] = ContextVar("thesmios_events_in_view", default=None)


def _noted(name: str) -> None:
    names = _logged_in_view.get()
    if names is not None:
        names.add(name)


def log_event(name: str, **fields: Any) -> None:
    """Log event ``name`` now (refusals, failed logins: they happen whether or not anything commits)."""
    _noted(name)
    logger.info(name, extra=event_fields(name, fields))


def log_event_on_commit(name: str, **fields: Any) -> None:
    """Log event ``name`` once the current transaction commits (decisions: never one rolled back).

    The request id is taken now: the commit may come after the request's id is cleared."""
    _noted(name)
    extra = {**event_fields(name, fields), "request_id": guid.get()}
    transaction.on_commit(lambda: logger.info(name, extra=extra))


class TextFormatter(logging.Formatter):
    """Plain-text lines (the `make run` default) that still show an event's fields."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extra = {k: v for k, v in vars(record).items() if k not in RESERVED and k not in ("request_id", "event")}
        return line + "".join(f" {key}={value!r}" for key, value in extra.items())


class RequestIdFilter(logging.Filter):
    """Puts the request id (django-guid) on every record that does not carry one already."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = guid.get()
        return True


# Keyword arguments of a service that say what was decided, and their names in the event.
DECISION_ARGUMENTS = {
    "decision": "decision",
    "to_stage": "to_stage",
    "gate_key": "gate",
    "stage": "stage",
    "role": "role",
}


def _tenant_slug(kwargs: dict[str, Any]) -> str | None:
    """The slug of the tenant a service acts on: its ``tenant`` argument, or the loaded
    ``tenant`` of a record argument (never a query for it: then ``#<id>``)."""
    for value in kwargs.values():
        tenant = value if hasattr(value, "slug") and hasattr(value, "stage") else None
        if tenant is None and value is not None and hasattr(value, "_state"):
            tenant = value._state.fields_cache.get("tenant")
            if tenant is None and getattr(value, "tenant_id", None) is not None:
                return f"#{value.tenant_id}"
        if tenant is not None:
            return str(tenant.slug)
    return None


def audited(name: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Log service calls as event ``name``: ``recorded`` once committed, or why it was refused.

    One decorator line on a service covers every surface that calls it (admin, launch room,
    API, commands). Fields: tenant slug, actor username (``by`` / ``recorded_by``), the
    decision arguments, and the outcome (recorded, refused, not_permitted, invalid) with the
    refusal's reasons or the names (never the values) of the invalid fields.
    """

    def decorate(service: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(service)
        def logged(*args: P.args, **kwargs: P.kwargs) -> R:
            fields: dict[str, Any] = {
                "service": service.__name__,
                "tenant": _tenant_slug(kwargs),
                "actor": kwargs.get("by") or kwargs.get("recorded_by"),
            }
            fields.update({out: kwargs[arg] for arg, out in DECISION_ARGUMENTS.items() if arg in kwargs})
            try:
                result = service(*args, **kwargs)
            except NotPermitted as exc:
                log_event(name, outcome="not_permitted", reasons=exc.reasons, **fields)
                raise
            except Refused as exc:
                log_event(name, outcome="refused", reasons=exc.reasons, **fields)
                raise
            except ValidationError as exc:
                invalid = sorted(exc.error_dict) if hasattr(exc, "error_dict") else []
                log_event(name, outcome="invalid", invalid_fields=invalid, **fields)
                raise
            log_event_on_commit(name, outcome="recorded", **fields)
            return result

        return logged

    return decorate


# A write request's refusal, by its status, in the words ``audited`` uses.
REFUSAL_OUTCOMES = {400: "invalid", 401: "unauthenticated", 403: "not_permitted", 404: "not_found"}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
View = Callable[..., HttpResponse]


def _answer_fields(response: HttpResponse) -> dict[str, Any]:
    """What a JSON refusal says, without what the caller sent: its error, reasons and the
    names of the fields in error (never their values)."""
    if not response.get("Content-Type", "").startswith("application/json"):
        return {}
    try:
        body = json.loads(response.content)
    except ValueError:
        return {}
    if not isinstance(body, dict):
        return {}
    fields: dict[str, Any] = {"error": body.get("error")}
    if isinstance(body.get("reasons"), list):
        fields["reasons"] = body["reasons"]
    if isinstance(body.get("errors"), dict):
        fields["invalid_fields"] = sorted(body["errors"])
    return fields


def refusals_logged(
    name: str, *, tenant_of: Callable[[HttpRequest], str | None] | None = None
) -> Callable[[View], View]:
    """Log every refusal of a write request to the view as event ``name``.

    ``audited`` logs what its service refuses; a view also refuses before it calls the
    service (not signed in, CSRF, a malformed body, a role check, a missing tenant). Any
    answer of 400 or more to a write method (or ``PermissionDenied``/``Http404`` raised) that
    no ``name`` event was logged for during the view is logged here, once: the outcome, the
    status, the actor, the tenant (the URL's ``slug``, or ``tenant_of(request)``), and for a
    JSON answer its error, reasons and the names of the invalid fields.
    """

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def logged(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method in SAFE_METHODS:
                return view(request, *args, **kwargs)
            names: set[str] = set()
            token = _logged_in_view.set(names)
            try:
                response = view(request, *args, **kwargs)
            except (PermissionDenied, Http404) as exc:
                status = 403 if isinstance(exc, PermissionDenied) else 404
                if name not in names:
                    _log_refusal(name, request, kwargs, status, {}, tenant_of)
                raise
            finally:
                _logged_in_view.reset(token)
            if response.status_code >= 400 and name not in names:
                _log_refusal(name, request, kwargs, response.status_code, _answer_fields(response), tenant_of)
            return response

        return logged

    return decorate


def _log_refusal(
    name: str,
    request: HttpRequest,
    kwargs: dict[str, Any],
    status: int,
    answer: dict[str, Any],
    tenant_of: Callable[[HttpRequest], str | None] | None,
) -> None:
    user = getattr(request, "user", None)
    tenant = kwargs.get("slug") or (tenant_of(request) if tenant_of else None)
    log_event(
        name,
        outcome=REFUSAL_OUTCOMES.get(status, "refused"),
        status=status,
        tenant=tenant,
        actor=user if user is not None and user.is_authenticated else None,
        method=request.method,
        **answer,
    )


@receiver(user_login_failed, dispatch_uid="thesmios.events.login_failed")
def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    from axes.helpers import get_client_ip_address  # the lockout's own reading of the address

    username = str(credentials.get("username", ""))
    address = get_client_ip_address(request) if request is not None else None
    log_event("login_failed", actor=username, outcome="refused", client_address=address)
