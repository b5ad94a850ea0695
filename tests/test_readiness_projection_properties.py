"""The stored-readiness property (docs/RULES.md section 11).

After any sequence of service calls and clock moves, every stored row that is not yet due
equals a fresh ``evaluate()``; after ``refresh_readiness``, every row does.

The clock is Django's (``django.utils.timezone.now``), moved by the test: the services, the
projection listener and ``evaluate`` all read it, as they read the real one in production.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from unittest import mock

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from core.errors import NotPermitted, Refused
from evidence.models import EvidenceAttachment
from evidence.services import evidence_attach, evidence_verify
from launchroom import catalog, demo_evidence
from launchroom.acceptance.services import acceptance_sign
from launchroom.models import AcceptanceDecision, LaunchStage, Stage, Tenant
from launchroom.readiness import projection
from launchroom.readiness.evaluation import evaluate
from launchroom.readiness.services import gate_decide, stage_move
from tests.factories import ATTACHMENT_REQUIREMENTS, EVIDENCE_GATES, ready_tenant
from tests.launch_helpers import buyer

PROPERTY = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TENANTS = ("live", "buying")
OPERATIONS = st.one_of(
    st.tuples(
        st.just("attach"),
        st.sampled_from(TENANTS),
        st.sampled_from(ATTACHMENT_REQUIREMENTS),
        st.integers(min_value=0, max_value=40),
    ),
    st.tuples(
        st.just("decide"),
        st.sampled_from(TENANTS),
        st.sampled_from(EVIDENCE_GATES),
        st.sampled_from(["accepted", "rejected", "reopened"]),
    ),
    st.tuples(st.just("tick"), st.integers(min_value=0, max_value=40), st.integers(min_value=0, max_value=23)),
    st.tuples(st.just("verify"), st.sampled_from(TENANTS)),
    st.tuples(
        st.just("sign"),
        st.sampled_from(TENANTS),
        st.sampled_from([AcceptanceDecision.ACCEPTED_WITH_EXCLUSIONS, AcceptanceDecision.SUPERSEDED]),
    ),
    st.tuples(
        st.just("move"), st.sampled_from(TENANTS), st.sampled_from([Stage.PRIVATE_BETA, Stage.PAID_BETA, Stage.PAUSED])
    ),
)


class Clock:
    def __init__(self) -> None:
        self.now = timezone.now()

    def __call__(self) -> Any:
        return self.now


def apply(op: tuple[Any, ...], clock: Clock, staff: dict[str, Any], buyers: dict[str, Any]) -> None:
    kind = op[0]
    if kind == "tick":
        clock.now += timedelta(days=op[1], hours=op[2])
        return
    tenant = Tenant.objects.get(slug=op[1])
    if kind == "attach":
        gate_key, requirement_key = op[2]
        evidence_attach(
            tenant=tenant,
            gate_key=gate_key,
            requirement_key=requirement_key,
            by=None,
            produced_by_command="launch_proof_bundle",
            output=f"{gate_key}/{requirement_key} captured {op[3]} days ago: all checks passed",
            captured_at=clock.now - timedelta(days=op[3]),
        )
    elif kind == "decide":
        gate = catalog.gate(op[2])
        assert gate.decided_by is not None
        gate_decide(
            tenant=tenant,
            gate_key=op[2],
            decision=op[3],
            note="property",
            by=staff[demo_evidence.DECIDER[gate.decided_by]],
        )
    elif kind == "verify":
        attachment = EvidenceAttachment.objects.filter(tenant=tenant).order_by("-id").first()
        if attachment is not None:
            evidence_verify(attachment=attachment)
    elif kind == "sign":
        stage = tenant.stage if tenant.stage in LaunchStage.values else LaunchStage.PAID_BETA
        acceptance_sign(
            tenant=tenant,
            stage=stage,
            decision=op[2],
            signer_name="Bea Buyer",
            signer_role="Sponsor",
            recorded_by=buyers[tenant.slug],
            exclusions=evaluate(tenant, stage).do_not_claim,
        )
    elif kind == "move":
        stage_move(tenant=tenant, to_stage=op[2], reason="property", by=staff["operator"])


@PROPERTY
@given(operations=st.lists(OPERATIONS, min_size=1, max_size=8))
def test_it_keeps_stored_rows_equal_to_a_fresh_evaluation(db, staff, operations):
    clock = Clock()
    with mock.patch("django.utils.timezone.now", clock), transaction.atomic():
        ready_tenant(
            "live",
            stage=Stage.PAID_BETA,
            ages={("tenant-access-proof", "access-smoke"): 20},
            accepted_for=[LaunchStage.PAID_BETA],
        )
        ready_tenant(
            "buying",
            requested_stage=LaunchStage.PRIVATE_BETA,
            decisions={"support-fallback": None},
            accepted_for=[LaunchStage.PRIVATE_BETA],
        )
        buyers = {slug: buyer(slug) for slug in TENANTS}
        projection.refresh(everything=True)

        refused = 0
        for op in operations:
            try:
                with transaction.atomic():
                    apply(op, clock, staff, buyers)
            except (Refused, NotPermitted, ValidationError):
                refused += 1
            # Without a refresh, every row that is not yet due is exact.
            assert projection.check(now=clock.now).differing == []
        event(f"refused: {min(refused, 3)}")

        due = projection.check(now=clock.now).due
        event(f"due before the refresh: {bool(due)}")
        projection.refresh(now=clock.now)
        # Nothing due any more, so every row was compared, and each is exact.
        assert projection.check(now=clock.now) == projection.CheckResult()
        transaction.set_rollback(True)
