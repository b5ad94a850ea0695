"""Run the public launch checks against a deployment and write one attachable JSON bundle.

    THESMIOS_SMOKE_URL=https://portal.example python manage.py launch_proof_bundle \\
        --output /tmp/thesmios-public-launch-proof.json [--attach TENANT]

The checks mutate nothing: public pages and the platform API, the managed-beta page and
JSON, production proof, the three evidence packs, route protection and the security
headers (HSTS and Secure cookies are skipped, not failed, over plain HTTP). With
``--attach`` and every check passed, the bundle becomes the evidence of gate 1's launch
and API smoke and gate 2's production-proof JSON and smoke, marked as this command's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import requests
from django.core.management.base import CommandError, CommandParser

from core.history import SystemCommand
from launchroom import catalog
from launchroom.management.commands.check_managed_beta_readiness import (
    Loaded,
    absent,
    add_common_arguments,
    attach_report,
    expect_html,
    fail_listing,
    find_tenant,
    finish,
    run_managed_beta_checks,
    run_or_fail,
)
from launchroom.proofs.smoke import CheckFailed, SmokeRun, expect_json, expect_status, resolve_url

COMMAND = "launch_proof_bundle"
FILENAME = "launch-proof-bundle.json"
ATTACH_TO = (
    ("public-deployment", "launch-smoke"),
    ("public-deployment", "api-smoke"),
    ("strict-proof-plan", "production-proof-json"),
    ("strict-proof-plan", "production-proof-smoke"),
)
PACKS = {
    "security-assurance": ("controls", {"tenant-isolation", "audit-history", "evidence-hashing", "headers"}),
    "procurement-evidence": ("items", {"dpa", "sla", "subprocessors", "privacy", "terms"}),
    "operations-evidence": ("processes", {"support", "incident", "status", "backup-drill"}),
}
# A slug no deployment should have: the API must refuse an anonymous caller before looking.
PROBE_SLUG = "launch-proof-probe"
ONE_YEAR = 31_536_000


def location(response: requests.Response) -> str:
    return response.headers.get("Location", "")


def run_public_checks(run: SmokeRun) -> Loaded:
    """Public launch surface and the platform API, as an anonymous visitor sees them."""
    loaded = Loaded()

    def home() -> str:
        loaded.values["home"] = run.get("")
        expect_html(loaded.values["home"])
        return "/"

    run.check("home page answers", home)

    def health() -> str:
        data = expect_json(run.get("healthz"))
        if data.get("status") != "ok":
            raise CheckFailed(f"/healthz says {data!r}")
        return "database ok"

    run.check("health check answers", health)

    def api_anonymous() -> str:
        response = run.get(f"api/platform/tenants/{PROBE_SLUG}/readiness")
        expect_status(response, 401, 403)
        if "application/json" not in response.headers.get("Content-Type", ""):
            raise CheckFailed("the refusal is not JSON")
        return f"anonymous readiness request answered {response.status_code}"

    run.check("platform API refuses an anonymous caller", api_anonymous)
    return loaded


def run_production_proof_checks(run: SmokeRun) -> Loaded:
    loaded = Loaded()
    run.check(
        "production-proof page answers",
        loaded.loader("page", lambda: expect_html(run.get("production-proof")), lambda t: "/production-proof"),
    )

    def page_complete() -> str:
        text = loaded["page"]
        expected = [t for gate in catalog.GATES for t in (gate.title, gate.if_missing)]
        fail_listing("the page lacks", absent(text, expected))
        return f"{len(catalog.GATES)} proof groups"

    run.check("production-proof page names every gate", page_complete)
    run.check(
        "production-proof JSON answers",
        loaded.loader(
            "json",
            lambda: expect_json(run.get("api/product/production-proof")),
            lambda d: "/api/product/production-proof",
        ),
    )

    def json_complete() -> str:
        groups = {g.get("key"): g for g in loaded["json"].get("groups") or [] if isinstance(g, dict)}
        problems = []
        for gate in catalog.GATES:
            group = groups.get(gate.key)
            if group is None:
                problems.append(f"{gate.key} has no proof group")
                continue
            if not group.get("blockers"):
                problems.append(f"{gate.key} names no blockers")
            for name in ("fixture_inputs", "vendor_requirements"):
                if not isinstance(group.get(name), list):
                    problems.append(f"{gate.key} has no {name}")
            if not group.get("mutating_boundary"):
                problems.append(f"{gate.key} has no mutating boundary")
            if group.get("if_missing") != gate.if_missing:
                problems.append(f"{gate.key} if-missing decision")
        fail_listing("incomplete", problems)
        return "blockers, fixture inputs, vendor requirements, mutating boundaries, if-missing decisions"

    run.check("production-proof JSON has every proof group", json_complete)
    return loaded


def run_pack_checks(run: SmokeRun) -> None:
    for pack, (list_key, keys) in PACKS.items():

        def pack_check(pack: str = pack, list_key: str = list_key, keys: set[str] = keys) -> str:
            data = expect_json(run.get(f"api/product/{pack}"))
            entries = data.get(list_key)
            if not isinstance(entries, list):
                raise CheckFailed(f"no {list_key}")
            listed = {e.get("key") for e in entries if isinstance(e, dict)}
            fail_listing(f"{list_key} missing", sorted(keys - listed))
            if list_key == "items":
                fail_listing(
                    "items without status or limits",
                    [str(e.get("key")) for e in entries if not (e.get("status") and e.get("does_not_cover"))],
                )
            if "no external certification" not in str(data.get("certification_boundary", "")).casefold():
                raise CheckFailed("no explicit certification boundary")
            return f"{len(entries)} {list_key}, certification boundary stated"

        run.check(f"{pack} pack answers and is complete", pack_check)


def run_route_protection_checks(run: SmokeRun) -> None:
    def redirects_to_login(path: str) -> Callable[[], str]:
        def check() -> str:
            response = run.get(path)
            expect_status(response, 302, 303)
            if "login" not in location(response):
                raise CheckFailed(f"redirects to {location(response)!r}, not to the login page")
            return f"redirects to {location(response)}"

        return check

    run.check("anonymous launch room redirects to login", redirects_to_login("launch-room/"))
    run.check("admin requires login", redirects_to_login("admin/"))

    def download() -> str:
        response = run.get("evidence/1/download")
        expect_status(response, 404)
        return "404"

    run.check("evidence download without login answers 404", download)


def _directives(csp: str) -> dict[str, str]:
    parts = (p.strip().split(None, 1) for p in csp.split(";") if p.strip())
    return {p[0].lower(): (p[1] if len(p) > 1 else "") for p in parts}


def run_header_checks(run: SmokeRun, home: requests.Response | None) -> None:
    holder: dict[str, requests.Response] = {}

    def page() -> requests.Response:
        if "home" not in holder:
            holder["home"] = home if home is not None else run.get("")
        return holder["home"]

    def csp() -> str:
        policy = page().headers.get("Content-Security-Policy", "")
        if not policy:
            raise CheckFailed("no Content-Security-Policy")
        directives = _directives(policy)
        for name in ("script-src", "style-src"):
            value = directives.get(name, directives.get("default-src", ""))
            if "'self'" not in value or "unsafe-inline" in value:
                raise CheckFailed(f"{name} is {value!r}: it must allow 'self' and no inline code")
        return "no inline script or style"

    run.check("Content-Security-Policy forbids inline code", csp)

    def nosniff() -> str:
        value = page().headers.get("X-Content-Type-Options", "")
        if value.lower() != "nosniff":
            raise CheckFailed(f"X-Content-Type-Options is {value!r}")
        return "nosniff"

    run.check("X-Content-Type-Options is nosniff", nosniff)

    def framing() -> str:
        value = page().headers.get("X-Frame-Options", "")
        ancestors = _directives(page().headers.get("Content-Security-Policy", "")).get("frame-ancestors", "")
        if value.upper() not in ("DENY", "SAMEORIGIN") and ancestors not in ("'none'", "'self'"):
            raise CheckFailed("neither X-Frame-Options nor frame-ancestors forbids framing")
        return f"X-Frame-Options {value or 'unset'}; frame-ancestors {ancestors or 'unset'}"

    run.check("framing is forbidden", framing)

    def referrer() -> str:
        value = page().headers.get("Referrer-Policy", "")
        if not value or "unsafe-url" in value:
            raise CheckFailed(f"Referrer-Policy is {value!r}")
        return value

    run.check("Referrer-Policy is set", referrer)

    def hsts() -> str:
        value = page().headers.get("Strict-Transport-Security", "")
        match = re.search(r"max-age=(\d+)", value)
        if not match or int(match.group(1)) < ONE_YEAR:
            raise CheckFailed(f"Strict-Transport-Security is {value!r}; expected max-age of at least a year")
        return value

    run.check("HSTS is at least a year", hsts, https_only=True)

    def secure_cookies() -> str:
        response = run.get("accounts/login/")
        expect_status(response, 200)
        cookies = response.raw.headers.getlist("Set-Cookie") if response.raw is not None else []
        if not cookies:
            raise CheckFailed("the login page set no cookie to check")
        insecure = [c.split("=", 1)[0] for c in cookies if "secure" not in c.lower().replace(" ", "").split(";")]
        fail_listing("cookies without Secure", insecure)
        return f"{len(cookies)} cookie(s) Secure"

    run.check("cookies are Secure", secure_cookies, https_only=True)


def bundle_report(run: SmokeRun) -> dict[str, Any]:
    """Run every check of the bundle, in order, and return its report (the command's output;
    the demo runs it in process, ``launchroom.demo_evidence``)."""
    public = run_public_checks(run)
    run_managed_beta_checks(run)
    proof = run_production_proof_checks(run)
    run_pack_checks(run)
    run_route_protection_checks(run)
    run_header_checks(run, public.values.get("home"))
    # The fetched production proof travels in the bundle: it is gate 2's "production proof JSON".
    return run.report(kind="launch_proof_bundle", production_proof=proof.values.get("json"))


class Command(SystemCommand):
    help = "Run the public launch proof checks and write one attachable JSON bundle."

    def add_arguments(self, parser: CommandParser) -> None:
        add_common_arguments(parser)

    def handle(self, *args: Any, url: str | None = None, output: str | None = None, **options: Any) -> None:
        tenant = find_tenant(options.get("attach"))
        holder: dict[str, Any] = {}

        def go() -> None:
            run = SmokeRun(base_url=resolve_url(url), command=COMMAND, out=self.stdout)
            holder["run"] = run
            self.stdout.write(f"Checking {run.base_url}")
            holder["report"] = bundle_report(run)

        run_or_fail(go)
        run: SmokeRun = holder["run"]
        data = finish(self, run, holder["report"], output)
        failed = run.counts()["failed"]
        if failed:
            raise CommandError(
                f"{failed} of {len(run.results)} checks failed" + (": nothing attached" if tenant else "")
            )
        if tenant is not None:
            attached = attach_report(
                tenant=tenant, data=data, filename=FILENAME, command=COMMAND, requirements=ATTACH_TO
            )
            self.stdout.write(f"Attached to {tenant.slug}: {', '.join(attached)}")
