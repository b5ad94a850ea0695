"""Run the HTTP proof checks in process, through Django's test client, when no server runs.

``seed_demo`` builds its command evidence (gates 1, 2 and 5) through the same checks as
``launch_proof_bundle``, ``check_managed_beta_readiness`` and ``operator_launch_proof``; with
no server to call, ``ClientSession`` stands in for ``requests.Session``: every request still
goes through the real URL routing, middleware, login view and access rules, only not over a
socket. It implements the small part of ``requests`` the proof code uses. The run is marked
``in_process``: its report's ``url`` and ``transport`` say so, and checks of the connection
itself (HSTS, Secure cookies) are skipped.

The requests are made the way the deployment receives them: to a host it allows
(``proof_host``), over HTTPS, with the TLS proxy's header where ``SECURE_PROXY_SSL_HEADER``
trusts one; pages need collected static files when the storage reads a manifest
(``missing_static_step`` names the step before anything runs).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any, cast
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.http.request import validate_host
from django.test import Client

from core.history import acting_as, current_actor
from launchroom.proofs.smoke import SmokeRun


class ClientResponse:
    """The parts of ``requests.Response`` the checks read."""

    def __init__(self, method: str, url: str, response: Any) -> None:
        self.status_code: int = response.status_code
        self.content: bytes = b"".join(response) if getattr(response, "streaming", False) else response.content
        self.headers = response.headers
        self.url = url
        self.request = SimpleNamespace(method=method)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.content)


def proof_host() -> str:
    """A host name the deployment answers: ``PORTAL_BASE_URL``'s when allowed, else the first
    of ``ALLOWED_HOSTS`` that is not a pattern (``*``, ``.example.com``), else ``testserver``
    (the test client's own, allowed while DEBUG is on)."""
    portal = urlsplit(settings.PORTAL_BASE_URL).hostname or ""
    if portal and validate_host(portal, settings.ALLOWED_HOSTS):
        return portal
    exact = [host for host in settings.ALLOWED_HOSTS if host != "*" and not host.startswith(".")]
    return exact[0] if exact else "testserver"


def secure_request_meta() -> dict[str, Any]:
    """What makes a request secure to the deployment: HTTPS, plus the TLS proxy's header when
    ``SECURE_PROXY_SSL_HEADER`` names one (so the request is the one the proxy forwards)."""
    header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    return {header[0]: header[1]} if header else {}


def missing_static_step() -> str | None:
    """The step to run first when pages cannot render: a manifest static storage (DEBUG off)
    without ``collectstatic``'s manifest fails every page that links a stylesheet."""
    storage = staticfiles_storage
    if isinstance(storage, ManifestFilesMixin) and not storage.exists(storage.manifest_name):
        return (
            f"static files are not collected (no {storage.manifest_name} in {settings.STATIC_ROOT}): "
            "run `manage.py collectstatic --noinput` first"
        )
    return None


class ClientSession:
    """A ``requests.Session`` look-alike over ``django.test.Client`` (HTTPS, an allowed host)."""

    def __init__(self) -> None:
        self.host = proof_host()
        self.client = Client(enforce_csrf_checks=True, HTTP_HOST=self.host, **secure_request_meta())
        self.headers: dict[str, str] = {}

    @property
    def cookies(self) -> list[SimpleNamespace]:
        return [SimpleNamespace(name=name) for name in self.client.cookies]

    def request(
        self,
        method: str,
        url: str,
        *,
        data: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        **_ignored: Any,
    ) -> ClientResponse:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        sent = {**self.headers, **(headers or {})}
        # The in-process request runs the history middleware, which ends by dropping the
        # history actor; the caller's actor (the operator running the proof) is put back.
        with acting_as(current_actor()):
            if method == "POST":
                response = self.client.post(path, data or {}, headers=sent, secure=True)
            else:
                response = self.client.generic(method, path, headers=sent, secure=True)
        return ClientResponse(method, url, response)


def in_process_run(command: str) -> SmokeRun:
    """A run of ``command``'s checks through ``ClientSession``, marked as in process."""
    session = ClientSession()
    # The URL only routes the requests (and names the Referer of a login): reports say "in-process".
    return SmokeRun(base_url=f"https://{session.host}/", command=command, session=cast(Any, session), in_process=True)


@contextmanager
def expected_refusals() -> Iterator[None]:
    """The 401s and 404s a proof expects are it passing, not errors worth a log line."""
    request_log = logging.getLogger("django.request")
    level = request_log.level
    request_log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        request_log.setLevel(level)
