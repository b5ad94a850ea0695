"""The decision log's tamper evidence: each kind of tampering is done with raw SQL, as an
attacker with database access would (on PostgreSQL lifting the refusing triggers first, as
the tables' owner could), and ``verify_decision_log`` must name the first broken link and
exit non-zero."""

from __future__ import annotations

import io
import itertools
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, models
from django.utils import timezone

from launchroom.models import (
    AcceptanceRecord,
    DecisionLogEntry,
    GateDecision,
    LaunchStage,
    OrderForm,
    StageChange,
    Tenant,
)
from launchroom.readiness import ledger
from tests.factories import draft_tenant, ready_tenant
from tests.tamper import raw


def q(name: str) -> str:
    return connection.ops.quote_name(name)


def table(model: type[models.Model]) -> str:
    return q(model._meta.db_table)


def raw_insert(obj: models.Model) -> int:
    """INSERT an unsaved instance with hand-written SQL: no save(), no signals, no log link."""
    fields = [f for f in obj._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(q(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    values = [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table(type(obj))} ({columns}) VALUES ({marks})", values)
        cursor.execute(f"SELECT MAX(id) FROM {table(type(obj))}")
        return cursor.fetchone()[0]


def verify(*args: str) -> str:
    out = io.StringIO()
    call_command("verify_decision_log", *args, stdout=out)
    return out.getvalue()


def broken(*args: str) -> str:
    """Run the command expecting a break; return its message."""
    with pytest.raises(CommandError) as caught:
        verify(*args)
    return str(caught.value)


def link_of(kind: str, pk: int) -> int:
    return DecisionLogEntry.objects.get(kind=kind, object_id=pk).seq


@pytest.fixture
def globex(db: None) -> Tenant:
    """A signed order form, the billing fallback's acceptance, six gate decisions, the first
    readiness transition, the buyer's acceptance record and its transition, the operator's
    countersignature and its transition, a stage move and its transition: fifteen links."""
    tenant = ready_tenant("globex", sign_for=LaunchStage.PAID_BETA, live=True)
    assert DecisionLogEntry.objects.filter(tenant=tenant).count() == 15
    return tenant


@pytest.fixture
def initech(db: None) -> Tenant:
    """No billing profile, signed for private beta, countersigned and moved into it (two transitions):
    twelve links."""
    return ready_tenant("initech", without=["billing"], sign_for=LaunchStage.PRIVATE_BETA, live=True)


def test_it_passes_an_untouched_log(globex: Tenant, initech: Tenant) -> None:
    output = verify()
    assert "OK     globex: 15 links" in output
    assert "OK     initech: 12 links" in output
    assert "2 tenant(s), no break" in output
    assert next(ledger.verify([globex])).broken is None


def test_it_chains_each_link_to_the_one_before(globex: Tenant) -> None:
    entries = list(DecisionLogEntry.objects.filter(tenant=globex).order_by("seq"))
    assert entries[0].prev_hash == ledger.GENESIS
    for before, entry in itertools.pairwise(entries):
        assert entry.prev_hash == before.entry_hash
        assert entry.entry_hash == ledger.link_hash(entry.prev_hash, entry.payload)
    assert [e.kind for e in entries[:3]] == ["signed_order_form", "billing_fallback_acceptance", "gate_decision"]
    assert entries[0].payload == ledger.row_payload(OrderForm.objects.get(tenant=globex))
    decision = GateDecision.objects.filter(tenant=globex).order_by("id").first()
    assert entries[2].payload == ledger.row_payload(decision)


def test_it_detects_a_gate_decision_edited_by_raw_sql(globex: Tenant) -> None:
    decision = GateDecision.objects.filter(tenant=globex).order_by("id")[2]
    raw(f"UPDATE {table(GateDecision)} SET note = %s WHERE id = %s", ["Looks fine to me.", decision.pk])

    message = broken()
    seq = link_of("gate_decision", decision.pk)
    assert f"globex: link {seq}: gate_decision {decision.pk} was edited after it was logged" in message


def test_it_detects_a_stage_change_deleted_by_raw_sql(globex: Tenant) -> None:
    move = StageChange.objects.get(tenant=globex)
    seq = link_of("stage_change", move.pk)
    # The log entry stays: it has no foreign key to the row, so nothing stops the delete.
    raw(f"DELETE FROM {table(StageChange)} WHERE id = %s", [move.pk])

    assert f"globex: link {seq}: stage_change {move.pk} was deleted" in broken()


def test_it_detects_a_row_deleted_with_its_link_in_the_middle(globex: Tenant) -> None:
    decision = GateDecision.objects.filter(tenant=globex).order_by("id")[1]
    seq = link_of("gate_decision", decision.pk)
    raw(f"DELETE FROM {table(DecisionLogEntry)} WHERE kind = 'gate_decision' AND object_id = %s", [decision.pk])
    raw(f"DELETE FROM {table(GateDecision)} WHERE id = %s", [decision.pk])

    assert f"globex: link {seq}: is missing: it was deleted from the log" in broken()


def test_it_detects_the_last_link_cut_off_with_its_row(globex: Tenant) -> None:
    """A chain alone cannot see its tail cut off; the history's creation records can."""
    last = DecisionLogEntry.objects.filter(tenant=globex).latest("seq")
    seq = last.seq
    assert (last.kind, seq) == ("readiness_transition", DecisionLogEntry.objects.filter(tenant=globex).count())
    raw(f"DELETE FROM {table(DecisionLogEntry)} WHERE id = %s", [last.pk])
    raw(f"DELETE FROM {table(ledger.KINDS[last.kind])} WHERE id = %s", [last.object_id])

    assert f"globex: link {seq}: was deleted from the end of the log" in broken()


def test_it_detects_two_links_swapped_by_raw_sql(globex: Tenant) -> None:
    log = table(DecisionLogEntry)
    tid = globex.pk
    # Through a spare number: the (tenant, seq) constraint forbids a direct swap.
    raw(f"UPDATE {log} SET seq = 999 WHERE tenant_id = %s AND seq = 3", [tid])
    raw(f"UPDATE {log} SET seq = 3 WHERE tenant_id = %s AND seq = 4", [tid])
    raw(f"UPDATE {log} SET seq = 4 WHERE tenant_id = %s AND seq = 999", [tid])

    assert "globex: link 3: does not follow the link before it: links were reordered" in broken()


def test_it_detects_a_gate_decision_inserted_by_raw_sql(globex: Tenant, staff: dict[str, Any]) -> None:
    pk = raw_insert(
        GateDecision(
            tenant=globex,
            gate_key="security-procurement-pack",
            decision="accepted",
            note="Waved through.",
            decided_by=staff["operator"],
            decided_at=timezone.now(),
        )
    )

    message = broken()
    assert f"globex: log: gate_decision {pk} is not in the log: it was inserted behind the portal's back" in message
    assert "(the log ends at link 15)" in message


def test_it_detects_an_acceptance_record_inserted_by_raw_sql(db: None) -> None:
    tenant = ready_tenant("contoso")
    assert next(ledger.verify([tenant])).broken is None
    buyer = tenant.memberships.get(user__username="buyer-contoso").user
    pk = raw_insert(
        AcceptanceRecord(
            tenant=tenant,
            stage=LaunchStage.PAID_BETA,
            decision="accepted",
            signer_name="Carlos Conti",
            signer_role="Head of compliance operations",
            signer_email=buyer.email,
            signer=buyer,
            recorded_by=buyer,
            approval_reference="PO-CONTOSO-2026-01",
            signed_at=timezone.now(),
            snapshot_sha256="0" * 64,
        )
    )

    message = broken("--tenant", "contoso")
    assert f"contoso: log: acceptance_record {pk} is not in the log" in message


def test_it_detects_a_link_edited_by_raw_sql(globex: Tenant) -> None:
    raw(
        f"UPDATE {table(DecisionLogEntry)} SET payload = REPLACE(payload, 'accepted', 'rejected') "
        "WHERE tenant_id = %s AND seq = 5",
        [globex.pk],
    )

    assert "globex: link 5: its hash does not match its content: the log entry was edited" in broken()


def test_it_detects_a_row_and_link_forged_with_a_correct_hash(globex: Tenant, staff: dict[str, Any]) -> None:
    """Whoever can write SQL can also compute SHA-256: the history shows the link was not the portal's."""
    decision = GateDecision(
        tenant=globex,
        gate_key="support-fallback",
        decision="rejected",
        note="Forged.",
        decided_by=staff["support"],
        decided_at=timezone.now(),
    )
    decision.pk = raw_insert(decision)
    decision = GateDecision.objects.get(pk=decision.pk)
    last = DecisionLogEntry.objects.filter(tenant=globex).order_by("-seq").first()
    payload = ledger.row_payload(decision)
    raw_insert(
        DecisionLogEntry(
            tenant=globex,
            seq=last.seq + 1,
            kind="gate_decision",
            object_id=decision.pk,
            payload=payload,
            prev_hash=last.entry_hash,
            entry_hash=ledger.link_hash(last.entry_hash, payload),
            created_at=timezone.now(),
        )
    )

    assert f"globex: link {last.seq + 1}: has no creation record in the history" in broken()


def test_it_names_the_first_broken_link(globex: Tenant, initech: Tenant) -> None:
    decisions = list(GateDecision.objects.filter(tenant=globex).order_by("id"))
    for decision in (decisions[4], decisions[1]):
        raw(f"UPDATE {table(GateDecision)} SET note = 'edited' WHERE id = %s", [decision.pk])

    message = broken()
    first = link_of("gate_decision", decisions[1].pk)
    assert f"first: globex: link {first}:" in message
    assert "broken for 1 of 2 tenant(s)" in message  # globex broken, initech intact


def test_it_verifies_one_tenant_with_the_tenant_option(globex: Tenant, initech: Tenant) -> None:
    decision = GateDecision.objects.filter(tenant=initech).first()
    raw(f"UPDATE {table(GateDecision)} SET note = 'edited' WHERE id = %s", [decision.pk])

    output = verify("--tenant", "globex")
    assert "OK     globex" in output
    assert "initech" not in output
    assert "initech: link" in broken("--tenant", "initech")
    assert "No tenant 'nowhere'" in broken("--tenant", "nowhere")


def test_it_reports_every_broken_tenant_and_keeps_checking(globex: Tenant, initech: Tenant) -> None:
    raw(f"UPDATE {table(StageChange)} SET reason = 'edited'")

    out = io.StringIO()
    with pytest.raises(CommandError, match="broken for 2 of 2 tenant"):
        call_command("verify_decision_log", stdout=out)
    assert "BROKEN globex: link" in out.getvalue()
    assert "BROKEN initech: link" in out.getvalue()


def test_it_verifies_an_empty_log(db: None) -> None:
    draft_tenant("northwind")
    assert "OK     northwind: 0 links" in verify()
