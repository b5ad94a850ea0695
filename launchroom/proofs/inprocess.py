"""Run the HTTP proof checks in process, through Django's test client, when no server runs.

``seed_demo`` builds gate 5's evidence through the same checks as ``operator_launch_proof``;
with no server to call, ``ClientSession`` stands in for ``requests.Session``: every request
still goes through the real URL routing, middleware, login view and access rules, only not
over a socket. It implements the small part of ``requests`` the proof code uses.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

from django.test import Client

from core.history import acting_as, current_actor

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
