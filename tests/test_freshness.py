"""Freshness: an attachment older than its limit turns its gate stale, everywhere it shows."""

from __future__ import annotations

import pytest
from django.urls import reverse

from launchroom import demo, demo_evidence
from launchroom.models import LaunchStage, Tenant
from launchroom.readiness.evaluation import ACCEPTED, HOLD, STALE, evaluate

GATE = "public-deployment"


@pytest.fixture
def tenant(staff):
    return Tenant.objects.create(slug="acme", name="Acme")


def test_it_turns_a_gate_stale_when_its_evidence_is_older_than_the_default_limit(tenant, staff):
    demo.attach_evidence(tenant, staff, GATE, age_days=31)
    result = evaluate(tenant, LaunchStage.PRIVATE_BETA)
    gate = result.gate(GATE)
    assert gate.status == STALE
    assert "Launch smoke output is older than 30 days" in gate.reasons
    assert result.decision == HOLD


def test_an_accepted_gate_goes_stale_when_its_evidence_ages(tenant, staff):
    from datetime import timedelta

    from django.utils import timezone

    demo.attach_evidence(tenant, staff, GATE, age_days=29)
    demo_evidence.accept_gate(tenant, staff, GATE)
    assert evaluate(tenant).gate(GATE).status == ACCEPTED
    later = timezone.now() + timedelta(days=2)
    assert evaluate(tenant, now=later).gate(GATE).status == STALE


def test_the_limit_is_the_evidence_freshness_days_setting(tenant, staff, settings):
    demo.attach_evidence(tenant, staff, GATE, age_days=45)
    assert evaluate(tenant).gate(GATE).status == STALE
    settings.EVIDENCE_FRESHNESS_DAYS = 60
    demo_evidence.accept_gate(tenant, staff, GATE)
    assert evaluate(tenant).gate(GATE).status == ACCEPTED
    settings.EVIDENCE_FRESHNESS_DAYS = 7
    gate = evaluate(tenant).gate(GATE)
    assert gate.status == STALE
    assert "Launch smoke output is older than 7 days" in gate.reasons


def test_a_requirement_without_a_freshness_limit_never_goes_stale(tenant, staff):
    # The production URL is a fact, not a run output: it has no freshness limit.
    demo.attach_evidence(tenant, staff, GATE, age_days=400)
    gate = evaluate(tenant).gate(GATE)
    stale = {r.requirement.key for r in gate.requirements if r.state == "stale"}
    assert "deployment-url" not in stale
    assert {"launch-smoke", "api-smoke", "readiness-advisory"} <= stale


def test_new_evidence_refreshes_the_gate_and_the_old_stays(tenant, staff):
    demo.attach_evidence(tenant, staff, GATE, age_days=40)
    demo.attach_evidence(tenant, staff, GATE, age_days=1)
    demo_evidence.accept_gate(tenant, staff, GATE)
    assert evaluate(tenant).gate(GATE).status == ACCEPTED
    assert tenant.evidence.filter(requirement_key="launch-smoke").count() == 2


def test_the_admin_list_shows_stale_evidence_as_stale(client, tenant, staff):
    demo.attach_evidence(tenant, staff, GATE, age_days=31)
    client.force_login(staff["operator"])
    response = client.get(reverse("admin:evidence_evidenceattachment_changelist"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Stale: is older than 30 days" in html
    assert "Fresh, intact" in html  # the production URL has no freshness limit
