"""``make bench``: build a data set, measure the portal's pages against their budgets.

    .venv/bin/python bench/run.py --size 1000          # SQLite scratch file, bench/bench.sqlite3
    DATABASE_URL=postgres://.../thesmios bench/run.py  # PostgreSQL, in a scratch database <name>_bench

Everything is measured in one process and one run. Each page is requested by the same
logged-in staff user through the whole middleware stack with ``django.test.Client``: one
warm-up, then the median of ``--repeats`` requests, reported as a ratio to a bare view that
returns "ok" (the baseline), requested the same way. Query counts are taken at a small size
(10 tenants, 1 attachment each) and again at the full size: they must be equal.

The upload is the exception: 25 MiB go through a real server in a subprocess on the same
scratch database (Django's live server, or gunicorn with ``--server gunicorn``) to the
admin's evidence upload, so that the server's peak memory can be read from ``/proc``.

Results go to ``bench/results.json`` and a table; the exit status is 1 when a budget is
missed (each miss is printed), 0 when every budget is met.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import random
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

BENCH_DIR = Path(__file__).resolve().parent
BASE_DIR = BENCH_DIR.parent
sys.path.insert(0, str(BASE_DIR))

from bench import projection as projection_bench  # noqa: E402

SMALL_TENANTS = 10
# Above this size only the stored-readiness paths grow (bench/projection.py pads them in bulk).
FULL_MAX = 10_000
ATTACHMENTS_PER_TENANT = 10
ROOM_ATTACHMENTS = 100
UPLOAD_BYTES = 25 * 1024 * 1024
UPLOAD_REQUIREMENT = "security-procurement-pack/security-assurance-pack"
BENCH_SECRET = "bench-only-" + "k" * 56

# name -> (path template, budget on queries or None). {slug} and {id} are the launch-room tenant's.
PAGES: dict[str, tuple[str, int | None]] = {
    "launch_room": ("/launch-room/{slug}/", 20),
    "readiness_api": ("/api/platform/tenants/{slug}/readiness", 12),
    "portfolio_dashboard": ("/launch-room/?decision=hold&gate_status=missing&sort=valid_until", 8),
    "public_page": ("/managed-beta", None),
    "public_json": ("/api/product/managed-beta-readiness", None),
    "changelist_tenant": ("/admin/launchroom/tenant/", 8),
    "changelist_evidence": ("/admin/evidence/evidenceattachment/", 8),
    "changelist_gatedecision": ("/admin/launchroom/gatedecision/", 8),
    "changelist_acceptance": ("/admin/launchroom/acceptancerecord/", 8),
    "tenant_change": ("/admin/launchroom/tenant/{id}/change/", None),
}
BASELINE_PATH = "/bench/ok"
LAUNCH_ROOM_RATIO_LIMIT = projection_bench.LAUNCH_ROOM_RATIO_LIMIT  # 60x
PORTFOLIO_QUERY_LIMIT = 5
HISTORY_RATIO_LIMIT = 5
UPLOAD_HASH_RATIO_MIN = 0.2
UPLOAD_PEAK_MIB_MAX = 10
PACKET_ITEMS = 100
PACKET_ITEM_BYTES = 1024 * 1024
PACKET_PEAK_MIB_MAX = 16


# Environment and database --------------------------------------------------------------


def scratch_database_url() -> tuple[str, Callable[[], None]]:
    """The scratch database's URL, created empty, and a function that removes it.

    SQLite: ``bench/bench.sqlite3``. PostgreSQL (DATABASE_URL set): ``<name>_bench`` on the
    same server, never the database DATABASE_URL names.
    """
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        path = BENCH_DIR / "bench.sqlite3"

        def remove() -> None:
            for leftover in BENCH_DIR.glob("bench.sqlite3*"):
                leftover.unlink()

        remove()
        return f"sqlite:///{path}", remove

    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/") or "thesmios"
    scratch = f"{name}_bench"
    admin_url = urlunsplit(parts._replace(scheme="postgresql", path="/postgres", query=""))

    def run_sql(sql: str) -> None:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql)

    run_sql(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
    run_sql(f'CREATE DATABASE "{scratch}"')
    return urlunsplit(parts._replace(path=f"/{scratch}")), lambda: run_sql(
        f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'
    )


def portal_env(database_url: str, media_root: str) -> dict[str, str]:
    """Production-like settings (DEBUG off) on the scratch database and media folder."""
    return {
        "DEBUG": "0",
        "SECRET_KEY": BENCH_SECRET,
        "DATABASE_URL": database_url,
        "MEDIA_ROOT": media_root,
        "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
        "WHITENOISE_USE_FINDERS": "1",
        "LOG_LEVEL": "ERROR",
    }


def setup_django() -> None:
    """Set Django up with the settings a deployment has, minus collectstatic: static files
    are served from the app folders, so the manifest storage is swapped for the plain one."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "thesmios.settings")
    import django

    django.setup()
    from django.conf import settings

    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


# The data set ----------------------------------------------------------------------------


class Builder:
    """Builds bench tenants in bulk with ``bulk_create_with_history``: every row has its
    creation record in the history, and every tenant's decision log is a valid chain."""

    def __init__(self) -> None:
        from django.utils import timezone

        from launchroom import catalog, demo

        self.catalog = catalog
        # Nobody logs in with it: the bench's client and the upload use a forced session.
        self.staff = demo.ensure_staff(password=secrets.token_urlsafe(24))
        self.operator = self.staff["operator"]
        self.requirements = [(g.key, r.key) for g in catalog.GATES for r in g.attachment_requirements]
        # In UTC, as the database gives it back, so the decision-log payloads verify.
        self.now = timezone.now()

    def history(self, objs: list[Any], model: type) -> list[Any]:
        from simple_history.utils import bulk_create_with_history

        return bulk_create_with_history(objs, model, batch_size=1000, default_user=self.operator)

    def tenants(self, start: int, stop: int, attachments: int) -> None:
        from django.contrib.auth import get_user_model
        from django.db import transaction

        from billing.models import BillingFallbackAcceptance, BillingProfile, BillingRoute
        from launchroom.models import (
            AcceptanceRecord,
            GateDecision,
            MembershipRole,
            OrderForm,
            Stage,
            StageChange,
            SupportPlan,
            Tenant,
            TenantMembership,
        )

        User = get_user_model()
        now = self.now
        exclusions = list(self.catalog.STANDING_EXCLUSIONS)
        with transaction.atomic():
            tenants = self.history(
                [
                    Tenant(
                        slug=f"bench-{i:05d}",
                        name=f"Bench tenant {i:05d}",
                        stage=Stage.PRIVATE_BETA if i % 4 == 0 else Stage.SETUP,
                        regulated_buyer=i % 7 == 0,
                        issuer_fixture_configured=True,
                        evidence_fixture_configured=True,
                        audit_export_configured=True,
                        controlled_send_configured=True,
                        commercial_owner=self.staff["commercial"],
                    )
                    for i in range(start, stop)
                ],
                Tenant,
            )
            buyers = User.objects.bulk_create(
                User(
                    username=f"buyer-{t.slug}",
                    email=f"sponsor@{t.slug}.example",
                    first_name="Bench",
                    last_name=f"Sponsor {t.slug[-5:]}",
                    password="!bench",  # unusable
                )
                for t in tenants
            )
            if not buyers[0].pk:  # databases that cannot return ids from a bulk insert
                by_name = dict(User.objects.filter(username__startswith="buyer-bench-").values_list("username", "pk"))
                for b in buyers:
                    b.pk = by_name[b.username]
            self.history(
                [
                    TenantMembership(user=b, tenant=t, role=MembershipRole.BUYER_SPONSOR)
                    for t, b in zip(tenants, buyers, strict=True)
                ],
                TenantMembership,
            )
            order_forms = self.history(
                [
                    OrderForm(
                        tenant=t,
                        version=1,
                        requested_stage="paid_beta" if n % 2 else "private_beta",
                        compliance_modules="Right-to-work verification\nProfessional licence checks",
                        cohort_description=f"{t.name} pilot cohort",
                        cohort_size=120,
                        verifier_audience="HR compliance team",
                        data_boundaries="EU data residency",
                        excluded_claims="\n".join(exclusions),
                        acceptance_language="The buyer accepts the managed beta for the scoped cohort.",
                        status="signed",
                        approval_reference=f"PO-{t.slug.upper()}",
                        signed_at=now - timedelta(days=20),
                        signer_name=f"{t.name} procurement lead",
                        recorded_by=self.staff["commercial"],
                    )
                    for n, t in enumerate(tenants)
                ],
                OrderForm,
            )
            profiles = []
            for n, (t, b) in enumerate(zip(tenants, buyers, strict=True)):
                if n % 5 == 0:
                    continue  # no billing profile: capped at private beta
                profile = BillingProfile(
                    tenant=t,
                    route=BillingRoute.INVOICE_ONLY,
                    billing_owner_name=f"{t.name} accounts payable",
                    billing_owner_email=f"ap@{t.slug}.example",
                    po_terms="Net 30",
                    invoice_contact=f"invoices@{t.slug}.example",
                    plan="Managed beta",
                    seat_cap=150,
                    renewal_terms="Quarterly",
                    cancellation_terms="30 days' notice",
                    fallback_accepted_by=b,
                    fallback_accepted_name=b.get_full_name(),
                    fallback_accepted_at=now - timedelta(days=15),
                )
                profile.fallback_terms_sha256 = profile.terms_sha256()
                profiles.append(profile)
            profiles = self.history(profiles, BillingProfile)
            fallback_acceptances = self.history(
                [
                    BillingFallbackAcceptance(
                        tenant_id=p.tenant_id,
                        profile=p,
                        accepted_by=p.fallback_accepted_by,
                        accepted_name=p.fallback_accepted_name,
                        accepted_at=p.fallback_accepted_at,
                        terms=p.terms(),
                        terms_sha256=p.fallback_terms_sha256,
                    )
                    for p in profiles
                ],
                BillingFallbackAcceptance,
            )
            self.history(
                [
                    SupportPlan(
                        tenant=t,
                        support_owner=self.staff["support"],
                        support_owner_name="Priya Patel",
                        support_owner_email="support@thesmios.example",
                        escalation_route="Support owner, then the on-call operator",
                        manual_incident_channel=f"#thesmios-{t.slug}",
                        manual_notice_process="Support owner e-mails every subscriber by hand",
                        status_subscribers=f"sponsor@{t.slug}.example",
                    )
                    for t in tenants
                ],
                SupportPlan,
            )
            for t in tenants:
                self.evidence(t, attachments, offset=0)

            # Decisions, in the order the log links them: gate decisions, acceptances, a stage move.
            decisions = []
            for n, t in enumerate(tenants):
                at = now - timedelta(days=10)
                for gate_key in ("public-deployment", "strict-proof-plan", "tenant-access-proof"):
                    if n % 3 == 0 and gate_key == "public-deployment":
                        decisions.append(
                            GateDecision(
                                tenant=t,
                                gate_key=gate_key,
                                decision="rejected",
                                note="The API smoke output is from staging; attach production's.",
                                decided_by=self.operator,
                                decided_at=at,
                            )
                        )
                        at += timedelta(minutes=5)
                    decisions.append(
                        GateDecision(
                            tenant=t,
                            gate_key=gate_key,
                            decision="accepted",
                            note="Reviewed the evidence; it meets the acceptance text.",
                            decided_by=self.operator,
                            decided_at=at,
                        )
                    )
                    at += timedelta(minutes=5)
                decisions.append(
                    GateDecision(
                        tenant=t,
                        gate_key="security-procurement-pack",
                        decision="accepted",
                        note="Security and procurement packs reviewed.",
                        decided_by=self.staff["security"],
                        decided_at=at,
                    )
                )
            decisions = self.history(decisions, GateDecision)
            first_records = self.history(
                [
                    self.acceptance(t, b, o, "deferred", None, days=8)
                    for t, b, o in zip(tenants, buyers, order_forms, strict=True)
                ],
                AcceptanceRecord,
            )
            second_records = self.history(
                [
                    self.acceptance(t, b, o, "accepted_with_exclusions", first, days=7)
                    for t, b, o, first in zip(tenants, buyers, order_forms, first_records, strict=True)
                ],
                AcceptanceRecord,
            )
            moves = self.history(
                [
                    StageChange(
                        tenant=t,
                        from_stage=Stage.SETUP,
                        to_stage=Stage.PRIVATE_BETA,
                        reason="Signed acceptance; no-charge private beta.",
                        changed_by=self.operator,
                        changed_at=now - timedelta(days=6),
                        snapshot_sha256="0" * 64,
                    )
                    for t in tenants
                    if t.stage == Stage.PRIVATE_BETA
                ],
                StageChange,
            )
            self.log([*order_forms, *fallback_acceptances, *decisions, *first_records, *second_records, *moves])

    def acceptance(self, tenant: Any, buyer: Any, order_form: Any, decision: str, supersedes: Any, days: int) -> Any:
        from core.hashing import sha256_of
        from launchroom.models import AcceptanceRecord

        snapshot = {"tenant": tenant.slug, "stage": "private_beta", "order_form_version": 1, "decision": "go"}
        return AcceptanceRecord(
            tenant=tenant,
            stage="private_beta",
            decision=decision,
            signer_name=buyer.get_full_name(),
            signer_role="Head of compliance operations",
            signer_email=buyer.email,
            signer=buyer,
            recorded_by=buyer,
            approval_reference=order_form.approval_reference,
            exclusions=list(self.catalog.STANDING_EXCLUSIONS),
            residual_risks=["Support communication stays manual during the beta"],
            note="Waiting for the security pack." if decision == "deferred" else "",
            evidence_references=[],
            order_form=order_form,
            signed_at=self.now - timedelta(days=days),
            client_address="198.51.100.7",
            user_agent="bench",
            affirmation="I affirm this decision for my organisation.",
            snapshot=snapshot,
            snapshot_sha256=sha256_of(snapshot),
            supersedes=supersedes,
        )

    def log(self, rows: list[Any]) -> None:
        """Each tenant's decision-log chain over ``rows``, in time order."""
        from launchroom.models import DecisionLogEntry
        from launchroom.readiness import ledger

        def when(row: Any) -> datetime:
            for name in ("decided_at", "signed_at", "accepted_at"):
                if getattr(row, name, None):
                    return getattr(row, name)
            return row.changed_at

        by_tenant: dict[int, list[Any]] = {}
        for row in rows:
            by_tenant.setdefault(row.tenant_id, []).append(row)
        entries = []
        for tenant_id, tenant_rows in by_tenant.items():
            prev = ledger.GENESIS
            for seq, row in enumerate(sorted(tenant_rows, key=lambda r: (when(r), r.pk)), start=1):
                payload = ledger.row_payload(row)
                entry_hash = ledger.link_hash(prev, payload)
                entries.append(
                    DecisionLogEntry(
                        tenant_id=tenant_id,
                        seq=seq,
                        kind=ledger.KIND_OF[type(row)],
                        object_id=row.pk,
                        payload=payload,
                        prev_hash=prev,
                        entry_hash=entry_hash,
                    )
                )
                prev = entry_hash
        self.history(entries, DecisionLogEntry)

    def evidence(self, tenant: Any, count: int, *, offset: int) -> None:
        """``count`` pasted-output attachments, round the tenant's attachment requirements."""
        from evidence.models import EvidenceAttachment

        rows = []
        for k in range(offset, offset + count):
            gate_key, requirement_key = self.requirements[k % len(self.requirements)]
            captured = self.now - timedelta(days=2 + (k // len(self.requirements)) % 20, minutes=k)
            if tenant.slug.endswith("5"):  # one tenant in ten has evidence 3-4 days from its limit: reminders
                captured -= timedelta(days=24)
            output = json.dumps(
                {
                    "command": "launch_proof_bundle",
                    "tenant": tenant.slug,
                    "requirement": f"{gate_key}/{requirement_key}",
                    "started_at": captured.isoformat(),
                    "checks": [{"name": f"check {c}", "status": "passed", "ms": 40 + c} for c in range(3)],
                    "passed": 3,
                    "failed": 0,
                },
                indent=2,
            )
            rows.append(
                EvidenceAttachment(
                    tenant=tenant,
                    gate_key=gate_key,
                    requirement_key=requirement_key,
                    output=output,
                    captured_at=captured,
                    uploaded_by=self.operator,
                    produced_by_command="launch_proof_bundle",
                    sha256=hashlib.sha256(output.encode()).hexdigest(),
                    size=len(output.encode()),
                    content_type="text/plain",
                )
            )
        self.history(rows, EvidenceAttachment)

    def top_up(self, tenant: Any, have: int, want: int) -> None:
        from django.db import transaction

        if want > have:
            with transaction.atomic():
                self.evidence(tenant, want - have, offset=have)


def analyze() -> None:
    """Refresh the planner's statistics, as autovacuum does after a bulk load in production."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


# Measuring -------------------------------------------------------------------------------


def bench_urlconf() -> str:
    """The portal's URLs plus the bare baseline view, registered only for the bench."""
    from django.http import HttpRequest, HttpResponse
    from django.urls import include, path

    def ok(request: HttpRequest) -> HttpResponse:
        return HttpResponse("ok", content_type="text/plain")

    module = types.ModuleType("bench_urls")
    module.urlpatterns = [path(BASELINE_PATH.lstrip("/"), ok), path("", include("thesmios.urls"))]  # type: ignore[attr-defined]
    sys.modules["bench_urls"] = module
    return "bench_urls"


class Pages:
    def __init__(self, client: Any, tenant: Any, repeats: int) -> None:
        self.client = client
        self.tenant = tenant
        self.repeats = repeats
        self.errors: dict[str, str] = {}

    def url(self, name: str) -> str:
        template = PAGES[name][0] if name in PAGES else BASELINE_PATH
        return template.format(slug=self.tenant.slug, id=self.tenant.pk)

    def get(self, url: str) -> Any:
        return self.client.get(url, secure=True)

    def queries(self, name: str) -> tuple[int, int]:
        """(status, queries) of one request after a warm-up."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        url = self.url(name)
        self.get(url)
        with CaptureQueriesContext(connection) as ctx:
            response = self.get(url)
        if response.status_code != 200:
            exc = getattr(response, "exc_info", None)
            self.errors[name] = f"{type(exc[1]).__name__}: {exc[1]}"[:300] if exc else f"HTTP {response.status_code}"
        return response.status_code, len(ctx.captured_queries)

    def median_ms(self, name: str, repeats: int | None = None) -> float:
        url = self.url(name)
        self.get(url)  # warm-up
        times = []
        for _ in range(repeats or self.repeats):
            start = time.perf_counter()
            self.get(url)
            times.append((time.perf_counter() - start) * 1000)
        return statistics.median(times)


def measure_portfolio() -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from launchroom.models import Tenant
    from launchroom.readiness.evaluation import evaluate
    from launchroom.readiness.selectors import load_tenants

    runs = []
    queries = 0
    for _ in range(3):
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            now = timezone.now()
            results = [evaluate(data, now=now) for data in load_tenants(Tenant.objects.all(), lean=True)]
            runs.append(time.perf_counter() - start)
        queries = len(ctx.captured_queries)
        if runs[0] > 5:  # one run is enough at the big sizes
            break
    assert len(results) == Tenant.objects.count()
    return {"queries": queries, "seconds": round(statistics.median(runs), 3), "tenants": len(results)}


def measure_notify_sweep() -> dict[str, Any]:
    """The reminder sweep over every tenant, as the scheduler runs it: seconds and queries, in a
    transaction that is rolled back (the reminders it writes are not kept)."""
    from django.db import connection, transaction
    from django.db.models import Q
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from launchroom.models import Tenant
    from launchroom.notifications.events import evidence_expiry_reminders

    now = timezone.now()
    horizon = now + timedelta(days=7)
    due = Tenant.objects.filter(Q(readiness_row__isnull=True) | Q(readiness_row__valid_until__lte=horizon)).count()
    with transaction.atomic(), CaptureQueriesContext(connection) as ctx:
        start = time.perf_counter()
        told = evidence_expiry_reminders(now=now)
        seconds = time.perf_counter() - start
        transaction.set_rollback(True)
    return {
        "seconds": round(seconds, 3),
        "queries": len(ctx.captured_queries),
        "tenants": Tenant.objects.count(),
        "tenants_loaded": due,
        "notifications": told,
    }


def notify_sweep_alone(size: int = 1000, runs: int = 7) -> dict[str, Any]:
    """The reminder sweep measured on its own, without the rest of the bench: ``size`` bench
    tenants with ten attachments each (as in the full data set, the launch room's hundred aside)
    in a scratch database (``scratch_database_url``, dropped afterwards), then ``runs``
    measurements: the median seconds, their range and the queries. README's figures come from::

        DATABASE_URL=postgres://postgres@127.0.0.1:5432/thesmios_sweep .venv/bin/python \\
            -c 'from bench.run import notify_sweep_alone; print(notify_sweep_alone(1000))'
    """
    media_root = tempfile.mkdtemp(prefix="thesmios-bench-media-")
    database_url, drop_database = scratch_database_url()
    os.environ.update(portal_env(database_url, media_root))
    setup_django()
    from django.core.management import call_command
    from django.db import connections

    try:
        call_command("migrate", verbosity=0)
        builder = Builder()
        for start in range(0, size, 1000):
            builder.tenants(start, min(start + 1000, size), attachments=ATTACHMENTS_PER_TENANT)
        projection_bench.refresh_all()
        analyze()
        sweeps = [measure_notify_sweep() for _ in range(runs)]
    finally:
        connections.close_all()
        drop_database()
        shutil.rmtree(media_root, ignore_errors=True)
    seconds = sorted(sweep["seconds"] for sweep in sweeps)
    return {**sweeps[-1], "seconds": statistics.median(seconds), "seconds_range": [seconds[0], seconds[-1]]}


def measure_history_save(repeats: int) -> dict[str, Any]:
    """One save of a Tenant with its history row against the same save without, interleaved,
    inside a transaction that is rolled back."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from launchroom.models import Tenant

    tenant = Tenant.objects.order_by("pk").last()
    saves = {"with": tenant.save, "without": tenant.save_without_historical_record}  # simple_history's switch
    times: dict[str, list[float]] = {"with": [], "without": []}
    with transaction.atomic():
        for i in range(repeats * 4 + 2):
            kind = "without" if i % 2 else "with"
            tenant.name = f"Bench tenant {i}"
            start = time.perf_counter()
            saves[kind]()
            elapsed = time.perf_counter() - start
            if i >= 2:  # the first pair warms up
                times[kind].append(elapsed)
        counts = {}
        for kind, save in saves.items():
            with CaptureQueriesContext(connection) as ctx:
                save()
            counts[kind] = len(ctx.captured_queries)
        transaction.set_rollback(True)
    with_history, without = statistics.median(times["with"]), statistics.median(times["without"])
    return {
        "history_save_ratio": round(with_history / without, 2),
        "history_extra_queries": counts["with"] - counts["without"],
        "history_save_ms": round(with_history * 1000, 3),
        "plain_save_ms": round(without * 1000, 3),
    }


def measure_one_tenant_load(tenant: Any, repeats: int) -> dict[str, Any]:
    """A write's re-evaluation of its tenant: the one-tenant load (``load_one``) and a whole
    projection, in a transaction rolled back. The tenant is the launch room's, with its
    hundred attachments."""
    from django.db import transaction

    from launchroom.readiness.projection import project
    from launchroom.readiness.selectors import load_one

    times: dict[str, list[float]] = {"load": [], "project": []}
    for i in range(repeats * 10 + 1):
        start = time.perf_counter()
        load_one(tenant.pk, lean=True, with_row=True)
        if i:  # the first warms up
            times["load"].append(time.perf_counter() - start)
    with transaction.atomic():
        for _ in range(repeats * 10):
            start = time.perf_counter()
            project(tenant_id=tenant.pk, cause="bench")
            times["project"].append(time.perf_counter() - start)
        transaction.set_rollback(True)
    return {
        "one_tenant_load_ms": round(statistics.median(times["load"]) * 1000, 3),
        "projection_ms": round(statistics.median(times["project"]) * 1000, 3),
    }


# The upload through a live server ---------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_status(pid: int, field: str) -> int:
    """A memory field of /proc/<pid>/status, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def worker_pid(master: int) -> int:
    """The pid of gunicorn's single worker (the process that runs the app)."""
    children = Path(f"/proc/{master}/task/{master}/children")
    for _ in range(100):
        pids = children.read_text().split() if children.exists() else []
        if pids:
            return int(pids[0])
        time.sleep(0.05)
    return master


@contextlib.contextmanager
def live_server(env: dict[str, str], log: Path, kind: str) -> Iterator[tuple[str, int]]:
    """A server in a subprocess on the scratch database, so that its memory is its own:
    Django's live server (``live``, the ThreadedWSGIServer of LiveServerTestCase and
    runserver) or gunicorn with one sync worker (``gunicorn``, as production runs it)."""
    port = free_port()
    server_env = {**os.environ, **env, "SECURE_SSL_REDIRECT": "0", "PYTHONUNBUFFERED": "1"}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--serve", str(port), "--server", kind],
            cwd=BASE_DIR,
            env=server_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        import requests

        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            if proc.poll() is not None:
                raise RuntimeError(f"the live server exited: {log.read_text()[-2000:]}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            time.sleep(0.1)
        else:
            raise RuntimeError("the live server did not answer /healthz within 30 s")
        yield base, worker_pid(proc.pid) if kind == "gunicorn" else proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def serve(port: int, kind: str) -> None:
    """``--serve PORT``: the server the upload goes through."""
    setup_django()
    from django.core.wsgi import get_wsgi_application

    if kind == "live":
        import socket

        from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

        class NoDelayHandler(WSGIRequestHandler):
            # The dev server writes the status line and headers in small pieces; on a
            # kept-alive connection Nagle's rule then holds the response ~40 ms for the
            # client's delayed ACK. gunicorn sets TCP_NODELAY; so does this server, so the
            # bench measures the upload path rather than that stall.
            def setup(self) -> None:
                super().setup()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        server = ThreadedWSGIServer(("127.0.0.1", port), NoDelayHandler)
        server.set_app(get_wsgi_application())
        server.serve_forever()
        return

    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in {
                "bind": f"127.0.0.1:{port}",
                "workers": 1,
                "worker_class": "sync",
                "timeout": 120,
                "accesslog": None,
                "loglevel": "warning",
            }.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return get_wsgi_application()

    Server().run()


def upload_payload() -> bytes:
    """25 MiB of a PDF: a PDF is checked by its magic bytes and scanned for HTML only at its
    head, so the measure is the upload path itself rather than a content scan."""
    body = random.Random(6).randbytes(UPLOAD_BYTES - 9)
    return b"%PDF-1.7\n" + body.replace(b"<", b"(")


def measure_upload(env: dict[str, str], session_key: str, tenant: Any, repeats: int, server: str) -> dict[str, Any]:
    import requests
    from django.conf import settings
    from django.utils import timezone

    from evidence.models import EvidenceAttachment

    data = upload_payload()
    hash_seconds = []
    for _ in range(5):
        start = time.perf_counter()
        digest = hashlib.sha256(data).hexdigest()
        hash_seconds.append(time.perf_counter() - start)
    csrf = secrets.token_hex(16)  # a 32-character secret: Django accepts it unmasked
    cookies = {settings.SESSION_COOKIE_NAME: session_key, settings.CSRF_COOKIE_NAME: csrf}
    captured = timezone.localtime(timezone.now() - timedelta(hours=1))
    form = {
        "csrfmiddlewaretoken": csrf,
        "tenant": str(tenant.pk),
        "requirement": UPLOAD_REQUIREMENT,
        "captured_at_0": captured.strftime("%Y-%m-%d"),
        "captured_at_1": captured.strftime("%H:%M:%S"),
        "note": "bench upload",
        "_save": "Save",
    }
    result: dict[str, Any] = {"upload_hash_ratio": None, "upload_peak_mib": None}
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "server.log"
        with live_server(env, log, server) as (base, pid), requests.Session() as session:
            url = base + "/admin/evidence/evidenceattachment/add/"
            upload_seconds, peaks = [], []
            for attempt in range(repeats + 1):
                before = EvidenceAttachment.objects.filter(sha256=digest).count()
                Path(f"/proc/{pid}/clear_refs").write_text("5")  # restart the peak (VmHWM) from now
                rss_before = proc_status(pid, "VmRSS")
                # Encoded before the clock starts: the measure is the server's path, not the client's.
                request = session.prepare_request(
                    requests.Request(
                        "POST",
                        url,
                        data=form,
                        files={"file": ("bench-upload.pdf", data, "application/pdf")},
                        cookies=cookies,
                        headers={"Referer": url},
                    )
                )
                start = time.perf_counter()
                response = session.send(request, allow_redirects=False, timeout=120)
                elapsed = time.perf_counter() - start
                peak = proc_status(pid, "VmHWM") - rss_before
                stored = EvidenceAttachment.objects.filter(sha256=digest).count() - before
                if response.status_code not in (302, 303) or stored != 1:
                    result["upload_error"] = (
                        f"HTTP {response.status_code} from {url.removeprefix(base)}, {stored} attachment stored: "
                        + error_text(response.text)
                    )
                    result["server_log"] = log.read_text()[-1500:]
                    return result
                if attempt:  # the first upload warms up
                    upload_seconds.append(elapsed)
                    peaks.append(peak)
                else:
                    first_peak = peak
    upload = statistics.median(upload_seconds)
    hashed = statistics.median(hash_seconds)
    result.update(
        upload_hash_ratio=round(hashed / upload, 3),
        upload_peak_mib=round(max(peaks) / 1024, 2),
        # The warm-up's increase also holds the first use of the admin form's code and templates.
        upload_peak_mib_first=round(first_peak / 1024, 2),
        upload_seconds=round(upload, 3),
        hash_seconds=round(hashed, 4),
        upload_mib=UPLOAD_BYTES / (1 << 20),
        upload_server=server,
    )
    return result


def error_text(html: str) -> str:
    """The errors of a re-rendered admin form, or the start of the page."""
    import re

    errors = re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', html, re.S)
    text = " ".join(re.sub(r"<[^>]+>", " ", e) for e in errors) or re.sub(r"<[^>]+>", " ", html)[:300]
    return re.sub(r"\s+", " ", text).strip()[:500]


def measure_packet_export(builder: Any) -> dict[str, Any]:
    """Export a launch packet resting on 100 evidence files of 1 MiB, in this process: the time,
    and the increase of the process's peak memory (VmHWM, restarted just before), in MiB."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.test.utils import override_settings
    from django.utils import timezone

    from core.hashing import sha256_of
    from evidence.models import EvidenceAttachment
    from launchroom.models import AcceptanceRecord, OrderForm, Tenant
    from launchroom.packet.build import write_packet

    key = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    now = timezone.now()
    tenant = Tenant.objects.create(slug="bench-packet", name="Bench packet")
    order_form = OrderForm.objects.create(
        tenant=tenant, version=1, status="signed", approval_reference="PO-BENCH-1", signed_at=now, signer_name="Bench"
    )
    references = []
    for i in range(PACKET_ITEMS):
        data = os.urandom(PACKET_ITEM_BYTES)
        name = default_storage.save(f"evidence/{tenant.pk}/bench-packet-{i:03d}", ContentFile(data))
        attachment = EvidenceAttachment.objects.create(
            tenant=tenant,
            gate_key="security-procurement-pack",
            requirement_key="security-assurance-pack",
            file=name,
            original_name=f"bench-{i:03d}.pdf",
            captured_at=now,
            uploaded_by=builder.operator,
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            content_type="application/pdf",
        )
        references.append({"id": attachment.pk, "sha256": attachment.sha256})
    AcceptanceRecord.objects.create(
        tenant=tenant,
        stage="private_beta",
        decision="accepted",
        signer_name="Bench Buyer",
        signer_role="Sponsor",
        signer_email="buyer@bench.example",
        recorded_by=builder.operator,
        approval_reference="PO-BENCH-1",
        evidence_references=references,
        order_form=order_form,
        signed_at=now,
        snapshot={},
        snapshot_sha256=sha256_of({}),
    )
    with override_settings(PACKET_SIGNING_KEY=key.decode()), tempfile.TemporaryFile() as out:
        write_packet(tenant, out, base_url="https://bench.invalid/")  # warm-up: imports, fonts, templates
        out.seek(0)
        out.truncate()
        pid = os.getpid()
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # restart the peak (VmHWM) from now
        rss_before = proc_status(pid, "VmRSS")
        start = time.perf_counter()
        write_packet(tenant, out, base_url="https://bench.invalid/")
        seconds = time.perf_counter() - start
        peak = proc_status(pid, "VmHWM") - rss_before
        size = out.tell()
    return {
        "seconds": round(seconds, 3),
        "peak_mib": round(peak / 1024, 2),
        "items": PACKET_ITEMS,
        "item_mib": PACKET_ITEM_BYTES / (1 << 20),
        "packet_mib": round(size / (1 << 20), 1),
    }


# Budgets and report ------------------------------------------------------------------------


def check_budgets(results: dict[str, Any]) -> list[dict[str, Any]]:
    checks: list[dict[str, Any]] = []

    def check(name: str, what: str, value: Any, ok: bool) -> None:
        checks.append({"name": name, "budget": what, "value": value, "ok": bool(ok)})

    for name, (_, limit) in PAGES.items():
        entry = results[name]
        if entry.get("status") != 200:
            check(name, "answers 200", f"HTTP {entry.get('status')}: {entry.get('error', '')}", False)
            continue
        check(name, "same queries at both sizes", f"{entry['queries_small']} -> {entry['queries']}",
              entry["queries_small"] == entry["queries"])  # fmt: skip
        if limit is not None:
            check(name, f"queries <= {limit}", entry["queries"], entry["queries"] <= limit)
    # The launch room's ratio budget is checked with the stored-readiness budgets (bench/projection.py).
    projection_bench.check(results, check)
    portfolio = results["portfolio"]
    check("portfolio", f"queries <= {PORTFOLIO_QUERY_LIMIT}", portfolio["queries"],
          portfolio["queries"] <= PORTFOLIO_QUERY_LIMIT)  # fmt: skip
    check("portfolio", "same queries at both sizes", f"{portfolio['queries_small']} -> {portfolio['queries']}",
          portfolio["queries_small"] == portfolio["queries"])  # fmt: skip
    ratio = results["history_save_ratio"]
    check("history_save_ratio", f"<= {HISTORY_RATIO_LIMIT}", ratio, ratio <= HISTORY_RATIO_LIMIT)
    extra = results["history_extra_queries"]
    check("history_extra_queries", "== 1", extra, extra == 1)
    if results.get("upload_error"):
        check("upload", "uploads 25 MiB", results["upload_error"], False)
    else:
        ratio = results["upload_hash_ratio"]
        check("upload_hash_ratio", f">= {UPLOAD_HASH_RATIO_MIN}", ratio, ratio >= UPLOAD_HASH_RATIO_MIN)
        peak = results["upload_peak_mib"]
        check("upload_peak_mib", f"<= {UPLOAD_PEAK_MIB_MAX}", peak, peak <= UPLOAD_PEAK_MIB_MAX)
    packet = results.get("packet_export")
    if packet is not None:
        check("packet_export", f"peak_mib <= {PACKET_PEAK_MIB_MAX}", packet["peak_mib"],
              packet["peak_mib"] <= PACKET_PEAK_MIB_MAX)  # fmt: skip
    return checks


def machine() -> dict[str, Any]:
    from django import get_version
    from django.db import connection

    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError, LookupError, ValueError):
        kib = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal:")
        )
        memory = f"{kib / (1 << 20):.1f} GiB"
    connection.ensure_connection()
    db = connection.vendor
    if db == "postgresql":
        version = connection.pg_version
        db += f" {version // 10000}.{version % 10000}"
    elif db == "sqlite":
        import sqlite3

        db += " " + sqlite3.sqlite_version
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory": memory,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "django": get_version(),
        "database": db,
    }


def table(results: dict[str, Any], checks: list[dict[str, Any]]) -> str:
    missed = {c["name"] for c in checks if not c["ok"]}
    lines = [
        f"{'page':<26}{'queries small':>14}{'queries':>9}{'median ms':>11}{'ratio':>9}  budget",
        "-" * 86,
        f"{'bare view (baseline)':<26}{results['baseline']['queries_small']:>14}{results['baseline']['queries']:>9}"
        f"{results['baseline']['median_ms']:>11.2f}{1:>9.1f}",
    ]
    for name, (_, limit) in PAGES.items():
        e = results[name]
        budget = [f"q<={limit}"] if limit is not None else []
        if name == "launch_room":
            budget.append(f"<={LAUNCH_ROOM_RATIO_LIMIT}x")
        verdict = "MISSED" if name in missed else "ok"
        ms = f"{e['median_ms']:.2f}" if e.get("median_ms") is not None else "-"
        ratio = f"{e['ratio']:.1f}" if e.get("ratio") is not None else "-"
        status = "" if e.get("status") == 200 else f" HTTP {e.get('status')}"
        lines.append(
            f"{name:<26}{e.get('queries_small', '-')!s:>14}{e.get('queries', '-')!s:>9}{ms:>11}{ratio:>9}"
            f"  {' '.join(budget) or '-'} {verdict}{status}"
        )
    r = results.get("launch_room_render")
    if r:
        lines.append(
            f"{'launch_room (no cache)':<26}{'':>14}{r['queries']:>9}{r['median_ms']:>11.2f}{r['ratio']:>9.1f}  -"
        )
    p = results["portfolio"]
    lines += [
        "-" * 86,
        f"portfolio: evaluate() over {p['tenants']} tenants: {p['queries']} queries "
        f"(small: {p['queries_small']}), {p['seconds']} s",
        f"history: save with history {results['history_save_ratio']}x the save without, "
        f"{results['history_extra_queries']} extra query",
    ]
    if "one_tenant_load_ms" in results:
        lines.append(
            f"one tenant's load: {results['one_tenant_load_ms']} ms; a projection {results['projection_ms']} ms"
        )
    lines += projection_bench.lines(results)
    if results.get("upload_error"):
        lines.append(f"upload: FAILED: {results['upload_error']}")
    else:
        lines.append(
            f"upload: 25 MiB in {results['upload_seconds']} s, sha256 alone {results['hash_seconds']} s: "
            f"ratio {results['upload_hash_ratio']}; server peak +{results['upload_peak_mib']} MiB"
        )
    sweep = results.get("notify_sweep")
    if sweep is not None:
        lines.append(
            f"notify_sweep: {sweep['seconds']} s, {sweep['queries']} queries; {sweep['tenants_loaded']} of "
            f"{sweep['tenants']} tenants loaded (valid until within 7 days), {sweep['notifications']} reminders"
        )
    packet = results.get("packet_export")
    if packet is not None:
        lines.append(
            f"packet_export: {packet['items']} evidence items of {packet['item_mib']:g} MiB in {packet['seconds']} s, "
            f"peak +{packet['peak_mib']} MiB ({packet['packet_mib']} MiB packet)"
        )
    return "\n".join(lines)


# Main --------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1000, help="tenants in the full data set (default 1000)")
    parser.add_argument("--repeats", type=int, default=7, help="timed requests per page (median; at least 7)")
    parser.add_argument("--upload-repeats", type=int, default=3, help="timed 25 MiB uploads (after one warm-up)")
    parser.add_argument("--output", type=Path, default=BENCH_DIR / "results.json")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database and media folder")
    parser.add_argument(
        "--server",
        choices=["live", "gunicorn"],
        default="live",
        help="the server the upload goes through: Django's live server (default) or gunicorn, one sync worker",
    )
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.server)
        return 0
    if args.size < SMALL_TENANTS:
        parser.error(f"--size must be at least {SMALL_TENANTS}")
    args.repeats = max(args.repeats, 7)

    began = time.perf_counter()
    media_root = tempfile.mkdtemp(prefix="thesmios-bench-media-")
    database_url, drop_database = scratch_database_url()
    env = portal_env(database_url, media_root)
    os.environ.update(env)
    try:
        return run(args, env, began)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop_database()
            shutil.rmtree(media_root, ignore_errors=True)
        else:
            print(f"kept: {database_url} and {media_root}")


def run(args: argparse.Namespace, env: dict[str, str], began: float) -> int:
    setup_django()
    import logging

    # A failing page is reported in the table with its error; no tracebacks in between.
    logging.disable(logging.ERROR)
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import override_settings

    say = lambda message: print(f"[{time.perf_counter() - began:6.1f} s] {message}", flush=True)  # noqa: E731
    say(f"scratch database: {env['DATABASE_URL']}")
    call_command("migrate", verbosity=0)
    # The bench's own view, and a fast hasher for the staff it creates (nobody logs in).
    override_settings(
        ROOT_URLCONF=bench_urlconf(), PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]
    ).enable()

    from launchroom.models import Tenant

    builder = Builder()
    # A page that fails is reported with its status and error, not raised.
    client = Client(raise_request_exception=False)
    staff_login(client, builder.operator)

    say(f"small data set: {SMALL_TENANTS} tenants, 1 attachment each")
    builder.tenants(0, SMALL_TENANTS, attachments=1)
    projection_bench.refresh_all()
    analyze()
    room = Tenant.objects.get(slug="bench-00000")
    pages = Pages(client, room, args.repeats)
    results: dict[str, Any] = {}
    status, queries = pages.queries("baseline")
    results["baseline"] = {"queries_small": queries}
    for name in PAGES:
        status, queries = pages.queries(name)
        results[name] = {"queries_small": queries, "status": status}
    results["portfolio"] = {"queries_small": measure_portfolio()["queries"]}

    full = min(args.size, FULL_MAX)
    say(f"full data set: {full} tenants, {ATTACHMENTS_PER_TENANT} each, {ROOM_ATTACHMENTS} in the room")
    for start in range(SMALL_TENANTS, full, 1000):
        builder.tenants(start, min(start + 1000, full), attachments=ATTACHMENTS_PER_TENANT)
    for tenant in Tenant.objects.filter(slug__lt=f"bench-{SMALL_TENANTS:05d}"):
        builder.top_up(tenant, 1, ROOM_ATTACHMENTS if tenant.pk == room.pk else ATTACHMENTS_PER_TENANT)
    say(f"refresh_readiness --all over {full} tenants")
    results["refresh_readiness"] = projection_bench.refresh_all()
    analyze()
    say("measuring pages")
    status, queries = pages.queries("baseline")
    results["baseline"].update(queries=queries, median_ms=round(pages.median_ms("baseline", args.repeats * 3), 3))
    baseline_ms = results["baseline"]["median_ms"]
    for name in PAGES:
        status, queries = pages.queries(name)
        entry = results[name]
        entry.update(queries=queries, status=status if entry["status"] == 200 else entry["status"])
        if status == 200:
            ms = pages.median_ms(name)
            entry.update(median_ms=round(ms, 3), ratio=round(ms / baseline_ms, 1))
        else:
            entry.update(median_ms=None, ratio=None, error=pages.errors.get(name, f"HTTP {status}"))
        say(f"  {name}: {entry.get('median_ms')} ms, {queries} queries, HTTP {status}")
    # The launch room above is served again from the room cache after its warm-up (as a reload
    # is); rendered on every request, for comparison:
    with override_settings(ROOM_CACHE_SECONDS=0):
        status, queries = pages.queries("launch_room")
        ms = pages.median_ms("launch_room")
    results["launch_room_render"] = {
        "status": status,
        "queries": queries,
        "median_ms": round(ms, 3),
        "ratio": round(ms / baseline_ms, 1),
    }
    say(f"  launch_room rendered every request: {round(ms, 3)} ms, {queries} queries")
    # The baseline again, to show how much the machine drifted while the pages ran.
    results["baseline"]["median_ms_after"] = round(pages.median_ms("baseline", args.repeats * 3), 3)

    if args.size > full:
        say(f"padding to {args.size} tenants with stored rows written in bulk")
        projection_bench.pad(args.size)
        analyze()
    say("stored-readiness paths: portfolio, CSV, transitions API")
    for name, entry in projection_bench.measure_pages(pages, baseline_ms, room.slug).items():
        results.setdefault(name, {}).update(entry)
    results["portfolio_csv"] = projection_bench.measure_csv(client)
    say("portfolio evaluation")
    results["portfolio"].update(measure_portfolio())
    say("history save")
    results.update(measure_history_save(args.repeats))
    say("one tenant's load and projection")
    results.update(measure_one_tenant_load(room, args.repeats))
    say(f"25 MiB upload through the {'live server' if args.server == 'live' else 'gunicorn server'}")
    session_key = client.cookies[_session_cookie()].value
    results.update(measure_upload(env, session_key, room, args.upload_repeats, args.server))
    say("gunicorn (2 workers) + wrk: the launch room of globex against /healthz")
    try:
        results["wrk"] = projection_bench.measure_wrk(env, projection_bench.globex_session(Client))
    except Exception as exc:  # reported as a missed budget, not raised
        results["wrk"] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    say("reminder sweep (evidence reaching its freshness limit within 7 days)")
    results["notify_sweep"] = measure_notify_sweep()
    say(f"launch packet export: {PACKET_ITEMS} evidence items of 1 MiB")
    results["packet_export"] = measure_packet_export(builder)

    checks = check_budgets(results)
    seconds = round(time.perf_counter() - began, 1)
    results["meta"] = {
        "size": args.size,
        "attachments_per_tenant": ATTACHMENTS_PER_TENANT,
        "room_attachments": ROOM_ATTACHMENTS,
        "repeats": args.repeats,
        "seconds": seconds,
        "run_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine(),
    }
    results["budgets"] = checks
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(table(results, checks))
    m = results["meta"]["machine"]
    print(f"\n{m['cpu']} ({m['cpus']} CPUs, {m['memory']}), {m['os']}, Python {m['python']}, "
          f"Django {m['django']}, {m['database']}; {seconds} s; written to {args.output}")  # fmt: skip
    missed = [c for c in checks if not c["ok"]]
    if missed:
        print(f"\n{len(missed)} budget(s) MISSED:")
        for c in missed:
            print(f"  {c['name']}: {c['budget']}: got {c['value']}")
        return 1
    print("\nEvery budget met.")
    return 0


def staff_login(client: Any, user: Any) -> None:
    """Log a staff user in with a session that has given its second factor, as production's
    staff sessions do (STAFF_REQUIRE_2FA is on with DEBUG off): an authenticator device,
    recorded in the session the way ``django_otp.login`` records it. The OTP middleware then
    loads that device on every request, so its cost is in every staff page's figures."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device, _ = TOTPDevice.objects.get_or_create(user=user, name="bench", defaults={"confirmed": True})
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def _session_cookie() -> str:
    from django.conf import settings

    return settings.SESSION_COOKIE_NAME


if __name__ == "__main__":
    sys.exit(main())
