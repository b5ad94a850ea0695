"""Concurrent signatures for one tenant and stage leave exactly one current record.

On PostgreSQL the tenant row lock (``select_for_update``) serialises the writers. SQLite has
no row locks; there each transaction begins with ``BEGIN IMMEDIATE`` (settings.py), so SQLite's
database lock serialises them, and the same tests run on SQLite too: its test database is a
file (tests/testenv.py), where a second writer waits for the lock.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from core.errors import Refused
from launchroom.acceptance.services import acceptance_sign
from launchroom.models import AcceptanceRecord
from launchroom.readiness import ledger
from launchroom.readiness.evaluation import evaluate
from launchroom.tenants.roles import sync_groups
from tests.factories import ready_tenant
from tests.launch_helpers import buyer, sign_form

SIGNERS = 6


@pytest.fixture
def groups(transactional_db):  # type: ignore[no-untyped-def]
    # A transactional test flushes the tables afterwards, the role groups included.
    sync_groups()


@pytest.fixture
def contoso(groups):  # type: ignore[no-untyped-def]
    """Every gate met for paid beta but the buyer's acceptance (committed: the threads read it)."""
    return ready_tenant("contoso")


def run_together(count: int, work) -> list[tuple[str, Any]]:  # type: ignore[no-untyped-def]
    barrier = threading.Barrier(count)
    results: list[tuple[str, Any]] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            outcome = ("ok", work(i))
        except Refused as exc:
            outcome = ("refused", exc.reasons)
        except Exception as exc:
            outcome = ("error", repr(exc))
        finally:
            connection.close()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def current_records(tenant, stage: str) -> list[AcceptanceRecord]:
    records = list(AcceptanceRecord.objects.filter(tenant=tenant, stage=stage))
    replaced = {r.supersedes_id for r in records if r.supersedes_id}
    return [r for r in records if r.pk not in replaced]


@pytest.mark.django_db(transaction=True)
def test_it_leaves_one_current_record_after_concurrent_signatures(groups, contoso):
    tenant = contoso
    user = buyer("contoso")
    exclusions = evaluate(tenant).do_not_claim

    def sign(i: int) -> int:
        record = acceptance_sign(
            tenant=tenant,
            stage="paid_beta",
            decision="accepted" if i % 2 else "accepted_with_exclusions",
            signer_name=f"Carlos Conti {i}",
            signer_role="Head of compliance operations",
            recorded_by=user,
            exclusions=exclusions,
            residual_risks=["Support stays manual"],
        )
        return record.pk

    results = run_together(SIGNERS, sign)
    assert [r for r in results if r[0] == "error"] == []
    signed = [pk for kind, pk in results if kind == "ok"]
    assert signed
    assert AcceptanceRecord.objects.filter(tenant=tenant).count() == len(signed)
    assert len(current_records(tenant, "paid_beta")) == 1
    # Each record but the first replaces exactly one other: a single chain.
    chain = AcceptanceRecord.objects.filter(tenant=tenant, supersedes__isnull=True)
    assert chain.count() == 1
    assert next(ledger.verify([tenant])).broken is None


@pytest.mark.django_db(transaction=True)
def test_it_leaves_one_current_record_after_concurrent_form_posts(groups, contoso):
    tenant = contoso
    user = buyer("contoso")
    data = sign_form(tenant, "accepted")

    def post(i: int) -> int:
        client = Client()
        client.force_login(user)
        response = client.post(reverse("launchroom:sign", args=[tenant.slug]), {**data, "signer_name": f"Carlos {i}"})
        return response.status_code

    results = run_together(4, post)
    statuses = [status for kind, status in results if kind == "ok"]
    assert len(statuses) == 4
    # The first signature changes nothing the others saw (gate 9 is outside the snapshot),
    # so each later one supersedes the one before it, or is refused with its reason.
    assert set(statuses) <= {302, 409}
    assert statuses.count(302) == AcceptanceRecord.objects.filter(tenant=tenant).count()
    assert len(current_records(tenant, "paid_beta")) == 1
    assert next(ledger.verify([tenant])).broken is None
