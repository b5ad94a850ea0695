"""The HTTP check runner behind the proof commands (docs/RULES.md section 7).

It talks to a deployment over real HTTP with ``requests``: timeouts on every call, one
retry on a connection error, one printed line per check as it runs, and a JSON report
that can be attached as evidence. Checks that only make sense over HTTPS are skipped,
not failed, against a plain-HTTP URL, and in process (``launchroom.proofs.inprocess``:
the demo's runs through Django's test client), where there is no connection at all; such a
run's report says so in its ``url`` and ``transport``.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from io import TextIOBase
from typing import Any, TextIO
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings

from core.errors import Refused
from core.events import log_event
from core.hashing import canonical_json

PASSED = "passed"
FAILED = "failed"
SKIPPED = "skipped"

IN_PROCESS = "in-process"
IN_PROCESS_TRANSPORT = (
    "in-process: Django's test client through the portal's real URL routing, middleware and views; "
    "no server, no network, no TLS"
)


class SmokeError(Exception):
    """The target cannot be checked at all (no URL, dead host): one line, exit 1."""


class CheckFailed(Exception):
    """Raised inside a check to fail it with a plain message."""


@dataclass
class CheckResult:
    name: str
    status: str
    detail: str = ""
    ms: int = 0

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "detail": self.detail, "ms": self.ms}


def resolve_url(url: str | None) -> str:
    """The base URL from ``--url`` or ``THESMIOS_SMOKE_URL``, validated."""
    base = (url or settings.THESMIOS_SMOKE_URL or "").strip()
    if not base:
        raise SmokeError("no URL to check: pass --url or set THESMIOS_SMOKE_URL")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SmokeError(f"not an http(s) URL: {base!r}")
    return base.rstrip("/") + "/"


@dataclass
class SmokeRun:
    """A sequence of named checks against one base URL."""

    base_url: str
    command: str
    out: TextIO | TextIOBase | None = None  # a command's self.stdout is a TextIOBase
    timeout: float = field(default_factory=lambda: float(settings.SMOKE_TIMEOUT_SECONDS))
    results: list[CheckResult] = field(default_factory=list)
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    session: requests.Session = field(default_factory=requests.Session)
    # True when ``session`` is ``launchroom.proofs.inprocess.ClientSession``: no server was reached.
    in_process: bool = False

    def __post_init__(self) -> None:
        self.session.headers["User-Agent"] = f"thesmios-{self.command}/{settings.PORTAL_VERSION}"

    @property
    def is_https(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def target(self) -> str:
        """What the checks ran against, as reports and notes name it: the URL, or "in-process"."""
        return IN_PROCESS if self.in_process else self.base_url

    def url(self, path: str) -> str:
        return urljoin(self.base_url, path.lstrip("/"))

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One HTTP call with a timeout, retried once on a connection error."""
        kwargs.setdefault("timeout", self.timeout)
        kwargs.setdefault("allow_redirects", False)
        for attempt in (1, 2):
            try:
                return self.session.request(method, self.url(path), **kwargs)
            except requests.ConnectionError as exc:
                if attempt == 2:
                    raise SmokeError(f"cannot reach {self.url(path)}: {_short(exc)}") from None
                time.sleep(0.5)
            except requests.Timeout:
                raise SmokeError(f"no answer from {self.url(path)} within {self.timeout:g}s") from None
            except requests.RequestException as exc:  # invalid URL, redirect loops, broken bodies
                raise SmokeError(f"cannot check {self.url(path)}: {_short(exc)}") from None
        raise AssertionError("unreachable")

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def check(self, name: str, fn: Callable[[], str | None], *, https_only: bool = False) -> CheckResult:
        """Run one check: it passes unless it raises ``CheckFailed`` (or an assertion)."""
        started = time.monotonic()
        if https_only and self.in_process:
            result = CheckResult(name, SKIPPED, "only meaningful over HTTPS; in process there is no connection")
        elif https_only and not self.is_https:
            result = CheckResult(name, SKIPPED, "only meaningful over HTTPS")
        else:
            try:
                detail = fn() or ""
                result = CheckResult(name, PASSED, detail)
            except (CheckFailed, AssertionError) as exc:
                result = CheckResult(name, FAILED, str(exc) or "check failed")
            except ValueError as exc:  # broken JSON and the like
                result = CheckResult(name, FAILED, f"unreadable answer: {_short(exc)}")
        result.ms = int((time.monotonic() - started) * 1000)
        self.results.append(result)
        if self.out is not None:
            line = f"{result.status.upper():<7} {name}"
            if result.detail:
                line += f": {result.detail}"
            self.out.write(line + "\n")
            self.out.flush()
        return result

    @property
    def passed(self) -> bool:
        return all(r.status != FAILED for r in self.results) and bool(self.results)

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for r in self.results if r.status == s) for s in (PASSED, FAILED, SKIPPED)}

    def require_passed(self) -> None:
        """Refuse to attach the output of a run in which any check failed."""
        if self.passed:
            return
        failed = [r.name for r in self.results if r.status == FAILED]
        raise Refused(
            f"{len(failed)} of {len(self.results)} checks failed: nothing attached"
            + (f" (failed: {'; '.join(failed)})" if failed else "")
        )

    def report(self, **extra: Any) -> dict[str, Any]:
        """The JSON report, with a SHA-256 over its own canonical content."""
        body: dict[str, Any] = {
            "command": self.command,
            "url": self.target,
            "transport": IN_PROCESS_TRANSPORT if self.in_process else urlsplit(self.base_url).scheme,
            "portal_version": settings.PORTAL_VERSION,
            "started_at": self.started_at,
            "finished_at": datetime.now(UTC).isoformat(),
            "passed": self.passed,
            "counts": self.counts(),
            "checks": [r.as_json() for r in self.results],
            **extra,
        }
        body["sha256"] = hashlib.sha256(canonical_json(body).encode()).hexdigest()
        log_event(
            "proof_run",
            command=self.command,
            # Never the URL's user:password, if it has one.
            host=IN_PROCESS if self.in_process else urlsplit(self.base_url).hostname,
            outcome=PASSED if self.passed else FAILED,
            **body["counts"],
        )
        return body


def report_bytes(report: dict[str, Any]) -> bytes:
    """A report as written to a file and attached as evidence."""
    return json.dumps(report, indent=2, sort_keys=True).encode()


def write_report(report: dict[str, Any], path: str) -> bytes:
    data = report_bytes(report)
    with open(path, "wb") as fh:
        fh.write(data)
    return data


def expect_status(response: requests.Response, *codes: int) -> None:
    if response.status_code not in codes:
        raise CheckFailed(
            f"{response.request.method} {response.url} answered {response.status_code}, "
            f"expected {' or '.join(map(str, codes))}"
        )


def expect_json(response: requests.Response) -> Any:
    expect_status(response, 200)
    if "application/json" not in response.headers.get("Content-Type", ""):
        raise CheckFailed(f"{response.url} is not JSON ({response.headers.get('Content-Type', 'no type')})")
    return response.json()


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]
