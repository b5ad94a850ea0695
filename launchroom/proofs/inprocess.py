"""Run the HTTP proof checks in process, through Django's test client, when no server runs.

``seed_demo`` builds its command evidence (gates 1, 2 and 5) through the same checks as
``launch_proof_bundle``, ``check_managed_beta_readiness`` and ``operator_launch_proof``; with
no server to call, ``ClientSession`` stands in for ``requests.Session``: every request still
goes through the real URL routing, middleware, login view and access rules, only not over a
socket. It implements the small part of ``requests`` the proof code uses. The run is marked
``in_process``: its report's ``url`` and ``transport`` say so, and checks of the connection
itself (HSTS, Secure cookies) are skipped.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any, cast
from urllib.parse import urlsplit

from django.test import Client

from core.history import acting_as, current_actor
from launchroom.proofs.smoke import SmokeRun

# Only to route the requests (HTTPS, as a deployment answers them): reports say "in-process".
IN_PROCESS_URL = "https://testserver/"


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


class ClientSession:
    """A ``requests.Session`` look-alike over ``django.test.Client`` (HTTPS, host testserver)."""

    def __init__(self) -> None:
        self.client = Client(enforce_csrf_checks=True)
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
    return SmokeRun(base_url=IN_PROCESS_URL, command=command, session=cast(Any, ClientSession()), in_process=True)


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
