"""Check that a deployment's managed-beta page and its JSON are deployed and complete.

    THESMIOS_SMOKE_URL=https://portal.example python manage.py check_managed_beta_readiness [--output FILE]

Complete means: all ten gates with their seed texts (title, summary, owner, audience,
acceptance, required evidence, if missing), the headline counts, the commands and the
boundary, all as the portal's own gate catalog has them. One line per check; exit 0 only
when every check passed. ``--attach TENANT`` stores the report as gate 1's readiness
advisory output for that tenant.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable
from typing import Any

import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from core.history import SystemCommand
from evidence.services import evidence_attach
from launchroom import catalog
from launchroom.models import Tenant
from launchroom.proofs.smoke import (
    CheckFailed,
    SmokeError,
    SmokeRun,
    expect_json,
    expect_status,
    report_bytes,
    resolve_url,
    write_report,
)
from launchroom.public import copy

COMMAND = "check_managed_beta_readiness"
FILENAME = "managed-beta-readiness.json"
ATTACH_TO = (("public-deployment", "readiness-advisory"),)
MANAGED_BETA_PAGE = "managed-beta"
MANAGED_BETA_JSON = "api/product/managed-beta-readiness"
GATE_TEXT_FIELDS = ("title", "summary", "owner", "audience", "acceptance", "if_missing")
COUNT_LABELS = {
    "launch_gates": "launch gates",
    "evidence_packs": "evidence packs",
    "proofs": "customer/operator proofs",
    "excluded_claims": "excluded launch claims",
}

_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def page_text(markup: str) -> str:
    """The visible words of an HTML page, unescaped, with whitespace collapsed."""
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", markup))).strip()


def absent(text: str, expected: Iterable[str]) -> list[str]:
    return [item for item in expected if _SPACE.sub(" ", item) not in text]


def fail_listing(what: str, items: list[str]) -> None:
    if items:
        shown = "; ".join(repr(i if len(i) <= 60 else i[:57] + "...") for i in items[:3])
        more = f" and {len(items) - 3} more" if len(items) > 3 else ""
        raise CheckFailed(f"{what}: {shown}{more}")


def expect_html(response: requests.Response) -> str:
    expect_status(response, 200)
    if "text/html" not in response.headers.get("Content-Type", ""):
        raise CheckFailed(f"{response.url} is not HTML ({response.headers.get('Content-Type', 'no type')})")
    return page_text(response.text)


def gate_seed_texts(gate: catalog.Gate) -> list[str]:
    return [*(getattr(gate, name) for name in GATE_TEXT_FIELDS), *gate.required_evidence]


class Loaded:
    """What an earlier check fetched, for the checks that read it."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def loader(self, key: str, fetch: Callable[[], Any], describe: Callable[[Any], str]) -> Callable[[], str]:
        def check() -> str:
            value = fetch()
            self.values[key] = value
            return describe(value)

        return check

    def __getitem__(self, key: str) -> Any:
        if key not in self.values:
            raise CheckFailed(f"{key} did not load (see above)")
        return self.values[key]


def run_managed_beta_checks(run: SmokeRun) -> Loaded:
    """The managed-beta page and its JSON twin: deployed and complete."""
    loaded = Loaded()
    gates = catalog.GATES

    run.check(
        "managed-beta page answers",
        loaded.loader("page", lambda: expect_html(run.get(MANAGED_BETA_PAGE)), lambda t: f"/{MANAGED_BETA_PAGE}"),
    )

    def page_gates() -> str:
        text = loaded["page"]
        fail_listing("the page lacks", [t for gate in gates for t in absent(text, gate_seed_texts(gate))])
        return f"{len(gates)} gates with owner, acceptance, evidence and if-missing"

    run.check("managed-beta page has every gate", page_gates)

    def page_rest() -> str:
        text = loaded["page"]
        counts = copy.counts()
        expected = [f"{counts[key]} {label}" for key, label in COUNT_LABELS.items()]
        expected += [c.command for c in (*copy.COMMANDS, copy.ACCEPTANCE_COMMAND)]
        expected += [copy.PAGE["boundary_heading"], copy.PAGE["boundary"]]
        expected += [copy.PAGE["go"], copy.PAGE["hold"], copy.PAGE["do_not_claim"]]
        fail_listing("the page lacks", absent(text, expected))
        return "counts, launch decision, commands and boundary"

    run.check("managed-beta page has the counts, commands and boundary", page_rest)

    run.check(
        "managed-beta JSON answers",
        loaded.loader("json", lambda: expect_json(run.get(MANAGED_BETA_JSON)), lambda d: f"/{MANAGED_BETA_JSON}"),
    )

    def json_gates() -> str:
        data = loaded["json"]
        published = data.get("gates")
        if not isinstance(published, list):
            raise CheckFailed("no gates list")
        by_key = {g.get("key"): g for g in published if isinstance(g, dict)}
        problems = []
        for gate in gates:
            entry = by_key.get(gate.key)
            if entry is None:
                problems.append(f"gate {gate.key} is missing")
                continue
            for name in GATE_TEXT_FIELDS:
                if entry.get(name) != getattr(gate, name):
                    problems.append(f"gate {gate.key} {name}")
            if entry.get("required_evidence") != list(gate.required_evidence):
                problems.append(f"gate {gate.key} required_evidence")
        if len(published) != len(gates):
            problems.append(f"{len(published)} gates published, {len(gates)} expected")
        fail_listing("incomplete", problems)
        return f"{len(gates)} gates with every seed text"

    run.check("managed-beta JSON has every gate", json_gates)

    def json_counts() -> str:
        data = loaded["json"]
        counts = data.get("counts")
        expected = copy.counts()
        if counts != expected:
            raise CheckFailed(f"counts are {counts!r}, expected {expected!r}")
        if counts["launch_gates"] != len(data.get("gates") or []):
            raise CheckFailed("launch_gates does not match the gates listed")
        if counts["excluded_claims"] != len(data.get("excluded_claims") or []):
            raise CheckFailed("excluded_claims does not match the claims listed")
        return ", ".join(f"{v} {COUNT_LABELS[k]}" for k, v in counts.items())

    run.check("managed-beta JSON has the counts", json_counts)

    def json_commands() -> str:
        data = loaded["json"]
        items = (data.get("commands") or {}).get("items") or []
        published = {c.get("name"): c for c in items if isinstance(c, dict)}
        problems = [
            c.name
            for c in (*copy.COMMANDS, copy.ACCEPTANCE_COMMAND)
            if (published.get(c.name) or {}).get("command") != c.command
        ]
        fail_listing("missing or different commands", problems)
        return ", ".join(c.name for c in copy.COMMANDS)

    run.check("managed-beta JSON has the commands", json_commands)

    def json_boundary() -> str:
        data = loaded["json"]
        boundary = data.get("boundary") or {}
        if boundary.get("heading") != copy.PAGE["boundary_heading"] or boundary.get("text") != copy.PAGE["boundary"]:
            raise CheckFailed("the boundary is missing or different")
        if data.get("excluded_claims") != list(catalog.STANDING_EXCLUSIONS):
            raise CheckFailed("the standing excluded claims are missing or different")
        return copy.PAGE["boundary_heading"]

    run.check("managed-beta JSON has the boundary", json_boundary)
    return loaded


def find_tenant(slug: str | None) -> Tenant | None:
    if not slug:
        return None
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        raise CommandError(f"no tenant {slug!r} to attach the output to")
    return tenant


def attach_report(
    *, tenant: Tenant, data: bytes, filename: str, command: str, requirements: Iterable[tuple[str, str]]
) -> list[str]:
    """Store one report as the evidence of each requirement, marked as the command's output."""
    attached = []
    with transaction.atomic():
        for gate_key, requirement_key in requirements:
            attachment = evidence_attach(
                tenant=tenant,
                gate_key=gate_key,
                requirement_key=requirement_key,
                by=None,
                file=SimpleUploadedFile(filename, data, content_type="application/json"),
                produced_by_command=command,
                note=f"Attached by {command}.",
            )
            attached.append(f"{gate_key}/{requirement_key} (#{attachment.pk})")
    return attached


def add_common_arguments(parser: CommandParser) -> None:
    parser.add_argument("--url", help="Base URL of the deployment (default: THESMIOS_SMOKE_URL).")
    parser.add_argument("--output", metavar="FILE", help="Write the JSON report to FILE.")
    parser.add_argument("--attach", metavar="TENANT", help="Store the report as evidence for this tenant's slug.")


def finish(
    command: BaseCommand, run: SmokeRun, report: dict[str, Any], output: str | None, *, label: str = "Report"
) -> bytes:
    """Write the report and print the tally; the caller attaches and decides the exit."""
    try:
        data = write_report(report, output) if output else None
    except OSError as exc:
        raise CommandError(f"cannot write {output}: {exc.strerror or exc}") from None
    counts = run.counts()
    command.stdout.write(f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
    if output:
        command.stdout.write(f"{label} written to {output} (sha256 {report['sha256']})")
    return data if data is not None else report_bytes(report)


def run_or_fail(fn: Callable[[], None]) -> None:
    """Turn a dead or wrong URL into one line and exit 1, never a traceback."""
    try:
        fn()
    except SmokeError as exc:  # SmokeRun turns every requests error into one
        raise CommandError(str(exc)) from None


def readiness_report(run: SmokeRun) -> dict[str, Any]:
    """Run the managed-beta checks and return the report (the command's output; the demo runs
    it in process, ``launchroom.demo_evidence``)."""
    run_managed_beta_checks(run)
    return run.report(kind="managed_beta_readiness")


class Command(SystemCommand):
    help = "Check that the managed-beta readiness page and its JSON are deployed and complete."

    def add_arguments(self, parser: CommandParser) -> None:
        add_common_arguments(parser)

    def handle(self, *args: Any, url: str | None = None, output: str | None = None, **options: Any) -> None:
        tenant = find_tenant(options.get("attach"))
        holder: dict[str, Any] = {}

        def go() -> None:
            run = SmokeRun(base_url=resolve_url(url), command=COMMAND, out=self.stdout)
            holder["run"] = run
            self.stdout.write(f"Checking {run.base_url}")
            holder["report"] = readiness_report(run)

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
