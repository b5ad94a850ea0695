"""Stage moves (docs/RULES.md section 2): refused on hold with the reasons, recorded on go."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.core.exceptions import ValidationError

from core.append_only import AppendOnlyError
from core.errors import NotPermitted, Refused
from launchroom.models import LaunchStage, Stage, StageChange, Tenant
from launchroom.readiness.evaluation import evaluate
from launchroom.readiness.services import stage_move
from tests.factories import AcceptanceRecordFactory, ready_tenant
from tests.launch_helpers import like_demo


def move(tenant, to_stage, by, reason=""):
    return stage_move(tenant=tenant, to_stage=to_stage, reason=reason, by=by)


def canonical_sha256(data) -> str:
    return hashlib.sha256(
        json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()


def test_it_refuses_a_move_to_a_beta_on_hold_with_the_reasons(staff):
    northwind = like_demo("northwind")

    with pytest.raises(Refused) as refused:
        move(northwind, Stage.PRIVATE_BETA, staff["operator"], reason="Let's go")

    reasons = refused.value.reasons
    assert reasons[0] == "Northwind Traders is on hold for private beta (no-charge)."
    assert reasons[1:] == evaluate(northwind, LaunchStage.PRIVATE_BETA).hold_reasons
    assert any(r.startswith("Customer order-form scope:") for r in reasons)
    northwind.refresh_from_db()
    assert northwind.stage == Stage.SETUP
    assert not StageChange.objects.filter(tenant=northwind).exists()


def test_it_refuses_paid_beta_to_a_tenant_capped_at_private_beta(staff):
    initech = like_demo("initech")

    with pytest.raises(Refused) as refused:
        move(initech, Stage.PAID_BETA, staff["operator"])

    assert "Invoice or order-form billing route: run a no-charge private beta only" in refused.value.reasons
    initech.refresh_from_db()
    assert initech.stage == Stage.PRIVATE_BETA


def test_it_records_a_move_on_go_with_the_readiness_snapshot_hash(db, staff):
    tenant = ready_tenant(accepted_for=[LaunchStage.PAID_BETA])
    expected = evaluate(tenant, LaunchStage.PAID_BETA)

    row = move(tenant, Stage.PAID_BETA, staff["operator"], reason="Signed acceptance.")

    tenant.refresh_from_db()
    assert tenant.stage == Stage.PAID_BETA
    assert (row.from_stage, row.to_stage, row.reason, row.changed_by) == (
        Stage.SETUP,
        Stage.PAID_BETA,
        "Signed acceptance.",
        staff["operator"],
    )
    assert row.changed_at is not None
    assert row.snapshot_sha256 == canonical_sha256(expected.as_json())
    assert tenant.decision_log.filter(kind="stage_change", object_id=row.pk).exists()
    assert row.history.count() == 1


def test_it_moves_between_betas_only_on_go(db, staff):
    tenant = ready_tenant(accepted_for=[LaunchStage.PRIVATE_BETA])
    move(tenant, Stage.PRIVATE_BETA, staff["operator"])

    with pytest.raises(Refused, match="on hold for paid beta"):
        move(tenant, Stage.PAID_BETA, staff["operator"])

    AcceptanceRecordFactory(tenant=tenant, order_form=tenant.order_forms.get())
    move(tenant, Stage.PAID_BETA, staff["operator"])
    tenant.refresh_from_db()
    assert tenant.stage == Stage.PAID_BETA
    assert [(c.from_stage, c.to_stage) for c in StageChange.objects.filter(tenant=tenant).order_by("id")] == [
        ("setup", "private_beta"),
        ("private_beta", "paid_beta"),
    ]


@pytest.mark.parametrize("to_stage", [Stage.PAUSED, Stage.ENDED])
def test_it_needs_a_reason_to_pause_or_end(staff, to_stage):
    globex = like_demo("globex")

    with pytest.raises(ValidationError) as invalid:
        move(globex, to_stage, staff["operator"], reason="   ")
    assert "reason" in invalid.value.message_dict
    assert StageChange.objects.filter(tenant=globex).count() == 1  # only the seed's move

    row = move(globex, to_stage, staff["operator"], reason="Buyer asked to stop the pilot.")
    assert row.reason == "Buyer asked to stop the pilot."
    globex.refresh_from_db()
    assert globex.stage == to_stage


def test_it_pauses_a_tenant_on_hold_and_brings_it_back_only_on_go(staff):
    northwind = like_demo("northwind")
    move(northwind, Stage.PAUSED, staff["operator"], reason="Buyer reorganising.")

    with pytest.raises(Refused):
        move(northwind, Stage.PRIVATE_BETA, staff["operator"])

    globex = like_demo("globex")
    move(globex, Stage.PAUSED, staff["operator"], reason="Incident review.")
    move(globex, Stage.PAID_BETA, staff["operator"], reason="Review closed.")
    globex.refresh_from_db()
    assert globex.stage == Stage.PAID_BETA


def test_it_never_restarts_an_ended_launch(staff):
    globex = like_demo("globex")
    move(globex, Stage.ENDED, staff["operator"], reason="Pilot complete.")

    with pytest.raises(Refused, match="has ended"):
        move(globex, Stage.PAID_BETA, staff["operator"])


def test_it_lets_only_an_operator_move_a_stage(staff):
    globex = like_demo("globex")

    for username in ("commercial", "finance", "security", "support"):
        with pytest.raises(NotPermitted):
            move(globex, Stage.PAUSED, staff[username], reason="Not mine to do.")
    assert Tenant.objects.get(pk=globex.pk).stage == Stage.PAID_BETA


def test_it_refuses_a_move_to_the_current_stage_or_an_unknown_one(staff):
    globex = like_demo("globex")

    with pytest.raises(Refused, match="already in"):
        move(globex, Stage.PAID_BETA, staff["operator"])
    with pytest.raises(ValidationError):
        move(globex, "live", staff["operator"])


def test_it_keeps_stage_changes_append_only(staff):
    row = StageChange.objects.get(tenant=like_demo("globex"))

    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        row.delete()
