"""The stored-readiness paths of ``make bench``, imported by ``bench/run.py``.

- ``refresh_readiness``: seconds to re-evaluate and store every tenant (``--all``).
- ``portfolio_dashboard`` (the first page, with filters), ``portfolio_csv`` (seconds, and
  ``peak_mib``: the growth of this process's peak RSS during the export) and
  ``transitions_api``: at the full size, which may be padded to ``--size`` with tenants
  whose stored rows are written in bulk (``SIZE=100000``: the projection paths only).
- ``wrk``: under gunicorn (two workers, production settings, PostgreSQL) the launch room of
  ``globex`` as ``buyer-globex`` against ``/healthz``, ``wrk -t1 -c8 -d10s --latency``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DASHBOARD_QUERY_LIMIT = 8
DASHBOARD_RATIO_LIMIT = 60
LAUNCH_ROOM_RATIO_LIMIT = 60
CSV_PEAK_MIB_MAX = 50
WRK_RATIO_MIN = 0.1
WRK_P99_OVER_P50_MAX = 3
DASHBOARD_PATH = "/launch-room/?decision=hold&gate_status=missing&sort=valid_until"
PAD_BATCH = 5000


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def refresh_all() -> dict[str, Any]:
    from launchroom.readiness import projection

    start = time.perf_counter()
    result = projection.refresh(everything=True)
    return {"seconds": round(time.perf_counter() - start, 3), "tenants": result.evaluated}


def pad(size: int) -> int:
    """Add tenants, each with a stored row cloned from an evaluated one, until there are ``size``.

    Derived rows may be written in bulk; the clones vary their decision, gate statuses and
    valid-until so filters and sorts have something to choose from.
    """
    from datetime import timedelta

    from django.utils import timezone

    from launchroom.models import GATE_COLUMNS, ReadinessTransition, Tenant, TenantReadiness

    have = Tenant.objects.count()
    if have >= size:
        return 0
    templates = list(TenantReadiness.objects.order_by("tenant_id")[:50])
    statuses = ["accepted", "missing", "stale", "ready_for_review", "rejected"]
    now = timezone.now()
    added = 0
    for start in range(have, size, PAD_BATCH):
        stop = min(start + PAD_BATCH, size)
        tenants = Tenant.objects.bulk_create(
            Tenant(slug=f"pad-{i:06d}", name=f"Padded tenant {i:06d}") for i in range(start, stop)
        )
        if not tenants[0].pk:  # backends that return no ids
            tenants = list(Tenant.objects.filter(slug__in=[t.slug for t in tenants]).order_by("pk"))
        rows, transitions = [], []
        for n, tenant in enumerate(tenants):
            template = templates[n % len(templates)]
            row = TenantReadiness(
                **{f.attname: getattr(template, f.attname) for f in TenantReadiness._meta.concrete_fields}
            )
            row.tenant_id = tenant.pk
            row.decision = "hold" if n % 3 else "go"
            row.valid_until = now + timedelta(days=1 + n % 29, seconds=n)
            setattr(row, GATE_COLUMNS[n % 10], statuses[n % 5])
            rows.append(row)
            if n % 10 == 0:
                transitions.append(
                    ReadinessTransition(
                        tenant_id=tenant.pk,
                        stage=row.stage,
                        decision_before="",
                        decision_after=row.decision,
                        cause_kind="refresh_readiness",
                        cause="refresh_readiness: first evaluation",
                        at=now,
                    )
                )
        TenantReadiness.objects.bulk_create(rows, batch_size=2000)
        ReadinessTransition.objects.bulk_create(transitions, batch_size=2000)
        added += len(tenants)
    return added


def measure_csv(client: Any) -> dict[str, Any]:
    """Stream the CSV of every tenant; the growth of the peak RSS is what streaming saves."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    before = _status_kib("VmRSS")
    start = time.perf_counter()
    response = client.get("/launch-room/portfolio.csv", secure=True)
    lines = 0
    size = 0
    for chunk in response.streaming_content:
        lines += chunk.count(b"\n")
        size += len(chunk)
    seconds = time.perf_counter() - start
    peak = _status_kib("VmHWM")
    return {
        "seconds": round(seconds, 3),
        "peak_mib": round(max(peak - before, 0) / 1024, 1),
        "rows": lines - 1,
        "bytes": size,
        "status": response.status_code,
    }


def measure_pages(pages: Any, baseline_ms: float, transitions_slug: str) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    out: dict[str, Any] = {}
    for name, url in (
        ("portfolio_dashboard", DASHBOARD_PATH),
        ("transitions_api", f"/api/platform/tenants/{transitions_slug}/transitions"),
    ):
        pages.get(url)
        with CaptureQueriesContext(connection) as ctx:
            response = pages.get(url)
        # Counted now: each request that follows resets the connection's query log.
        queries = len(ctx.captured_queries)
        times = []
        for _ in range(pages.repeats):
            start = time.perf_counter()
            pages.get(url)
            times.append((time.perf_counter() - start) * 1000)
        ms = statistics.median(times)
        out[name] = {
            "path": url,
            "status": response.status_code,
            "queries": queries,
            "median_ms": round(ms, 3),
            "ratio": round(ms / baseline_ms, 1),
        }
    return out


# gunicorn + wrk ----------------------------------------------------------------------------


def _ensure_wrk() -> str | None:
    found = shutil.which("wrk")
    if found:
        return found
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True, timeout=300)
    return shutil.which("wrk")


def _wrk(wrk: str, url: str, cookie: str | None) -> dict[str, Any]:
    command = [wrk, "-t1", "-c8", "-d10s", "--latency", url]
    if cookie:
        command[1:1] = ["-H", f"Cookie: {cookie}"]
    text = subprocess.run(command, check=True, capture_output=True, text=True, timeout=60).stdout

    def latency_ms(label: str) -> float:
        match = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    return {
        "rps": float(rps.group(1)) if rps else 0.0,
        "p50_ms": latency_ms("50%"),
        "p99_ms": latency_ms("99%"),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
    }


def measure_wrk(env: dict[str, str], session_cookie: str) -> dict[str, Any]:
    """The launch room of globex as buyer-globex against /healthz, under gunicorn with two workers."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return {"skipped": "needs PostgreSQL: run with DATABASE_URL=postgres://..."}
    wrk = _ensure_wrk()
    if wrk is None:
        return {"skipped": "wrk is not installed and apt-get could not install it"}
    from bench.run import free_port

    port = free_port()
    base_dir = Path(__file__).resolve().parent.parent
    static_root = tempfile.mkdtemp(prefix="thesmios-bench-static-")
    server_env = {
        **os.environ,
        **env,
        "SECURE_SSL_REDIRECT": "0",
        "STATIC_ROOT": static_root,
        "CONN_MAX_AGE": os.environ.get("CONN_MAX_AGE", "600"),
    }
    server_env.pop("WHITENOISE_USE_FINDERS", None)
    # As a deployment does: collectstatic first, for the manifest storage of production settings.
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=base_dir,
        env=server_env,
        check=True,
        timeout=300,
    )
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    proc = subprocess.Popen(
        [gunicorn, "thesmios.wsgi", "-w", "2", "-b", f"127.0.0.1:{port}", "--log-level", "warning"],
        cwd=base_dir,
        env=server_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import requests

        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            with contextlib.suppress(requests.RequestException):
                if requests.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            time.sleep(0.1)
        room = requests.get(base + "/launch-room/globex/", headers={"Cookie": session_cookie}, timeout=10)
        if room.status_code != 200:
            return {"error": f"the launch room answered HTTP {room.status_code}"}
        healthz = _wrk(wrk, base + "/healthz", None)
        launch_room = _wrk(wrk, base + "/launch-room/globex/", session_cookie)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(static_root, ignore_errors=True)
    return {
        "healthz": healthz,
        "launch_room": launch_room,
        "ratio": round(launch_room["rps"] / healthz["rps"], 3) if healthz["rps"] else 0.0,
        "p99_over_p50": round(launch_room["p99_ms"] / launch_room["p50_ms"], 2) if launch_room["p50_ms"] else None,
    }


def globex_session(client_class: Any) -> str:
    """Seed the demo tenants and log in as buyer-globex; the session cookie for wrk."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    with open(os.devnull, "w") as quiet:
        call_command("seed_demo", "--force", stdout=quiet)
    client = client_class()
    client.force_login(get_user_model().objects.get(username="buyer-globex"))
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


# Budgets ---------------------------------------------------------------------------------


def check(results: dict[str, Any], add: Any) -> None:
    """Add this module's budgets through ``add(name, budget, value, ok)``."""
    dash = results.get("portfolio_dashboard", {})
    if dash:
        add("portfolio_dashboard", f"queries <= {DASHBOARD_QUERY_LIMIT}", dash["queries"],
            dash["status"] == 200 and dash["queries"] <= DASHBOARD_QUERY_LIMIT)  # fmt: skip
        add("portfolio_dashboard", f"ratio <= {DASHBOARD_RATIO_LIMIT}x", dash["ratio"],
            dash["ratio"] <= DASHBOARD_RATIO_LIMIT)  # fmt: skip
    csv = results.get("portfolio_csv", {})
    if csv:
        add("portfolio_csv", f"peak growth < {CSV_PEAK_MIB_MAX} MiB", csv["peak_mib"],
            csv["status"] == 200 and csv["peak_mib"] < CSV_PEAK_MIB_MAX)  # fmt: skip
    api = results.get("transitions_api", {})
    if api:
        add("transitions_api", "answers 200", api["status"], api["status"] == 200)
    room = results.get("launch_room", {})
    if room.get("ratio") is not None:
        add("launch_room", f"ratio <= {LAUNCH_ROOM_RATIO_LIMIT}x", room["ratio"],
            room["ratio"] <= LAUNCH_ROOM_RATIO_LIMIT)  # fmt: skip
    wrk = results.get("wrk", {})
    if "ratio" in wrk:
        add("wrk", f"launch room >= {WRK_RATIO_MIN}x healthz req/s", wrk["ratio"], wrk["ratio"] >= WRK_RATIO_MIN)
        add("wrk", f"launch room p99 <= {WRK_P99_OVER_P50_MAX}x p50", wrk["p99_over_p50"],
            wrk["p99_over_p50"] is not None and wrk["p99_over_p50"] <= WRK_P99_OVER_P50_MAX)  # fmt: skip
    elif wrk.get("error"):
        add("wrk", "launch room serves", wrk["error"], False)


def lines(results: dict[str, Any]) -> list[str]:
    out = []
    r = results.get("refresh_readiness")
    if r:
        out.append(f"refresh_readiness --all: {r['tenants']} tenants in {r['seconds']} s")
    for name in ("portfolio_dashboard", "transitions_api"):
        e = results.get(name)
        if e:
            out.append(
                f"{name}: {e['median_ms']} ms, {e['ratio']}x the bare view, {e['queries']} queries ({e['path']})"
            )
    c = results.get("portfolio_csv")
    if c:
        out.append(
            f"portfolio_csv: {c['rows']} rows, {c['bytes'] / 1e6:.1f} MB in {c['seconds']} s, peak +{c['peak_mib']} MiB"
        )
    w = results.get("wrk", {})
    if "ratio" in w:
        out.append(
            f"wrk (gunicorn, 2 workers): /healthz {w['healthz']['rps']:.0f} req/s; launch room of globex "
            f"{w['launch_room']['rps']:.0f} req/s = {w['ratio']}x; p50 {w['launch_room']['p50_ms']:.1f} ms, "
            f"p99 {w['launch_room']['p99_ms']:.1f} ms = {w['p99_over_p50']}x"
        )
    elif w:
        out.append(f"wrk: {w.get('skipped') or w.get('error')}")
    return out
