"""The two-party go/no-go (docs/RULES.md 5.9): the operator countersigns the buyer's acceptance."""

from __future__ import annotations

import json
from io import BytesIO, StringIO
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st
from pypdf import PdfReader

from core.append_only import AppendOnlyError
from core.errors import NotPermitted, Refused
from launchroom import catalog
from launchroom.acceptance.certificate import verification_code
from launchroom.acceptance.countersign import acceptance_countersign, acceptance_countersign_decline
from launchroom.acceptance.services import acceptance_sign
from launchroom.catalog import Role
from launchroom.models import (
    AcceptanceCountersignature,
    AcceptanceRecord,
    DecisionLogEntry,
    LaunchStage,
    Notification,
    NotificationKind,
    ReadinessTransition,
)
from launchroom.readiness import ledger
from launchroom.readiness.evaluation import evaluate
from launchroom.readiness.services import gate_decide, stage_move
from launchroom.tenants.roles import sync_groups
from tests.factories import (
    AcceptanceRecordFactory,
    StaffFactory,
    UserFactory,
    countersign,
    ready_tenant,
    sign,
    staff_user,
)
from tests.launch_helpers import buyer
from tests.packet_helpers import export, member, portal_key, verify_command
from tests.tamper import raw
from tests.test_concurrency import run_together
from tests.test_fuzz import EACH, assert_json, assert_no_5xx, json_values, texts

pytestmark = pytest.mark.django_db

PAID = LaunchStage.PAID_BETA


def operator(username: str = "operator-two") -> Any:
    """An operator other than the demo's ``operator`` (in the Operator group, not a superuser)."""
    user = UserFactory.create(username=username, is_staff=True, first_name="Omar", last_name="Second")
    user.groups.add(Group.objects.get(name=Role.OPERATOR))
    return user


def saved() -> tuple[int, int]:
    return AcceptanceCountersignature.objects.count(), DecisionLogEntry.objects.count()


@pytest.fixture
def signed() -> AcceptanceRecord:
    """Contoso-like: every gate met, and the buyer sponsor signed the paid beta."""
    tenant = ready_tenant("contoso")
    return sign(tenant, PAID)


def test_it_holds_a_signed_acceptance_until_the_operator_countersigns(signed):
    readiness = evaluate(signed.tenant, PAID)

    gate = readiness.gate("customer-acceptance")
    assert readiness.decision == "hold"
    assert gate.status == "ready_for_review"
    assert "awaiting the operator's countersignature" in gate.reasons
    assert any("Countersign" in action for action in readiness.next_actions[Role.OPERATOR.value])


def test_the_room_tells_the_buyer_their_signature_is_recorded_and_who_acts_next(client, signed):
    tenant = signed.tenant
    client.force_login(signed.signer)
    page = client.get(f"/launch-room/{tenant.slug}/").content.decode()
    hold_line = "Your signature is recorded. A Thesmios operator countersigns your acceptance record next"
    assert hold_line in page
    assert catalog.BUYER_IF_MISSING["customer-acceptance"] not in page  # "until your buyer sponsor signs"
    assert "The buyer sponsor signs the acceptance record in the launch room." not in page


def test_it_goes_once_the_operator_countersigns_with_one_transition_naming_it(signed):
    tenant = signed.tenant
    before = ReadinessTransition.objects.filter(tenant=tenant).count()

    row = countersign(signed)

    assert evaluate(tenant, PAID).decision == "go"
    assert row.snapshot_sha256 == signed.snapshot_sha256
    assert row.operator_name == "Olivia Okafor" and row.operator_role == "Operator"
    transitions = list(ReadinessTransition.objects.filter(tenant=tenant).order_by("id")[before:])
    assert len(transitions) == 1
    assert transitions[0].decision_after == "go"
    assert "countersign" in transitions[0].cause


def test_it_refuses_a_stage_move_before_the_countersignature(signed):
    with pytest.raises(Refused):
        stage_move(tenant=signed.tenant, to_stage=PAID, reason="", by=staff_user(Role.OPERATOR))
    countersign(signed)
    stage_move(tenant=signed.tenant, to_stage=PAID, reason="", by=staff_user(Role.OPERATOR))


def test_it_refuses_the_recorder_countersigning_their_own_written_approval(db):
    tenant = ready_tenant("contoso")
    both = StaffFactory.create(role=Role.COMMERCIAL)
    both.groups.add(Group.objects.get(name=Role.OPERATOR))
    readiness = evaluate(tenant, PAID)
    record = acceptance_sign(
        tenant=tenant,
        stage=PAID,
        decision="accepted",
        signer_name="Carlos Conti",
        signer_role="Sponsor",
        recorded_by=both,
        on_written_approval=True,
        signer_email="carlos@example.com",
        exclusions=readiness.do_not_claim,
    )
    count = saved()

    with pytest.raises(NotPermitted, match="recorded this acceptance yourself"):
        acceptance_countersign(record=record, by=both)

    assert saved() == count
    assert acceptance_countersign(record=record, by=operator()).kind == "countersigned"


@pytest.mark.parametrize("who", ["superuser", "buyer", "security"])
def test_it_refuses_anyone_outside_the_operator_group(signed, who):
    user = {
        "superuser": lambda: UserFactory.create(username="root", is_staff=True, is_superuser=True),
        "buyer": lambda: buyer("contoso"),
        "security": lambda: staff_user(Role.SECURITY),
    }[who]()
    count = saved()
    with pytest.raises(NotPermitted):
        acceptance_countersign(record=signed, by=user)
    assert saved() == count


def test_it_refuses_a_countersignature_after_a_readiness_change_and_saves_nothing(signed, client):
    gate_decide(
        tenant=signed.tenant, gate_key="public-deployment", decision="rejected", note="Too old", by=operator("dec")
    )
    count = saved()
    client.force_login(operator())

    response = post(client, signed.pk, "countersign", {})

    assert response.status_code == 409
    reasons = response.json()["reasons"]
    assert "the buyer signs again" in reasons[0]
    assert any("Gate 1 (Public deployment and route protection): accepted then, rejected now." in r for r in reasons)
    assert saved() == count
    assert evaluate(signed.tenant, PAID).decision == "hold"


def test_it_records_and_tells_a_decline_and_a_new_signature_supersedes_it(signed):
    tenant = signed.tenant
    second = operator()
    with pytest.raises(ValidationError):
        acceptance_countersign_decline(record=signed, by=second, note="  ")

    row = acceptance_countersign_decline(record=signed, by=second, note="The cohort is wider than agreed.")

    assert row.kind == "declined"
    gate = evaluate(tenant, PAID).gate("customer-acceptance")
    assert gate.status == "missing"
    assert "the operator declined to countersign the acceptance for paid beta (invoice-led)" in gate.reasons
    told = Notification.objects.filter(kind=NotificationKind.COUNTERSIGN, event_key=f"countersign:{row.pk}")
    assert {n.recipient.username for n in told} == {"buyer-contoso", "commercial"}
    to_buyer = told.get(recipient__username="buyer-contoso")
    assert "The cohort is wider than agreed." in to_buyer.body and "signs the acceptance again" in to_buyer.body
    with pytest.raises(Refused, match="already declined"):
        countersign(signed)
    again = sign(tenant, PAID)
    assert again.supersedes_id == signed.pk
    countersign(again)
    assert evaluate(tenant, PAID).decision == "go"


def test_it_tells_operators_ready_to_countersign_once_with_a_link(signed):
    told = Notification.objects.filter(kind=NotificationKind.ACCEPTANCE_DECIDED, event_key=f"acceptance:{signed.pk}")
    to_operator = told.get(recipient__username="operator")
    assert "ready to countersign" in to_operator.subject
    assert to_operator.link == reverse("admin:launchroom_acceptancerecord_countersign", args=[signed.pk])
    countersign(signed)
    assert (
        Notification.objects.filter(kind=NotificationKind.COUNTERSIGN, recipient__username="buyer-contoso").count() == 1
    )


def test_it_needs_no_countersignature_for_deferred_records_nor_for_records_signed_before_the_rule(db):
    tenant = ready_tenant("contoso")
    deferred = sign(tenant, PAID, decision="deferred")
    with pytest.raises(Refused, match="needs no countersignature"):
        countersign(deferred)
    old = ready_tenant("legacy")
    order_form = evaluate(old, PAID).data.signed_order_form
    AcceptanceRecordFactory.create(
        tenant=old, order_form=order_form, recorded_by=buyer("legacy"), countersign_required=False
    )
    assert evaluate(old, PAID).decision == "go"


def test_it_chains_the_countersignature_and_verify_catches_a_raw_update(signed):
    row = countersign(signed)
    entry = DecisionLogEntry.objects.get(kind="acceptance_countersignature", object_id=row.pk)
    assert next(ledger.verify([signed.tenant])).broken is None
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        AcceptanceCountersignature.objects.filter(pk=row.pk).update(note="x")

    table = connection.ops.quote_name(AcceptanceCountersignature._meta.db_table)
    raw(f"UPDATE {table} SET note = %s WHERE id = %s", ["edited", row.pk])

    broken = next(ledger.verify([signed.tenant])).broken
    assert broken is not None and broken.seq == entry.seq and "edited" in broken.problem


@pytest.mark.postgres
def test_it_refuses_raw_sql_update_and_delete_on_postgresql(signed):
    row = countersign(signed)
    table = connection.ops.quote_name(AcceptanceCountersignature._meta.db_table)
    for sql in (f"UPDATE {table} SET note = 'x' WHERE id = %s", f"DELETE FROM {table} WHERE id = %s"):
        with (
            pytest.raises(IntegrityError, match="the database refuses this"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [row.pk])
    assert AcceptanceCountersignature.objects.get(pk=row.pk).note == row.note


# The API ----------------------------------------------------------------------------------


def post(client: Client, pk: int, action: str, body: Any, **extra: Any) -> Any:
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    url = f"/api/platform/launch-acceptance/{pk}/{action}"
    return client.post(url, data, content_type="application/json", **extra)


def test_it_answers_the_api_in_the_acceptance_patchs_order(signed, client):
    other = ready_tenant("globex")
    count = saved()
    assert post(client, signed.pk, "countersign", {}).status_code == 401
    client.force_login(buyer("contoso"))
    assert post(client, signed.pk, "countersign", "[1]").status_code == 400
    assert post(client, 10**20, "countersign", {}).status_code == 404
    assert post(client, signed.pk, "countersign", {}).status_code == 403
    client.force_login(buyer("globex"))
    assert post(client, signed.pk, "countersign", {}).status_code == 404
    client.force_login(operator())
    assert post(client, signed.pk, "decline", {}).status_code == 400
    assert post(client, signed.pk, "countersign", {"note": 3}).status_code == 400
    assert saved() == count
    response = post(client, signed.pk, "countersign", {"note": "Checked."})
    assert response.status_code == 201
    assert response.json()["kind"] == "countersigned"
    assert response.json()["snapshot_sha256"] == signed.snapshot_sha256
    assert post(client, signed.pk, "decline", {"note": "Too late"}).status_code == 409
    assert other.pk  # the other tenant's buyer saw nothing of contoso


def test_it_refuses_a_superseded_record_with_409(signed, client):
    sign(signed.tenant, PAID, decision="deferred")
    client.force_login(operator())
    response = post(client, signed.pk, "countersign", {})
    assert response.status_code == 409
    assert "superseded" in response.json()["reasons"][0]


@pytest.mark.django_db(transaction=True)
def test_it_leaves_one_countersignature_after_two_operators_at_once(transactional_db):
    sync_groups()  # a transactional test flushes the tables, the role groups included
    record = sign(ready_tenant("contoso"), PAID)
    operators = [operator("op-a"), operator("op-b")]

    def answer(i: int) -> int:
        return acceptance_countersign(record=record, by=operators[i]).pk

    results = run_together(2, answer)
    assert [r for r in results if r[0] == "error"] == []
    assert sorted(kind for kind, _ in results) == ["ok", "refused"]
    assert AcceptanceCountersignature.objects.filter(record=record).count() == 1
    assert next(ledger.verify([record.tenant])).broken is None


# The certificate, the packet and /verify ------------------------------------------------------


def pdf_text(data: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(BytesIO(data)).pages)


def test_the_packet_verifies_and_names_both_parties(settings, tmp_path):
    key = portal_key(settings, tmp_path)
    tenant = ready_tenant("globex", name="Globex Corporation", sign_for=PAID, live=True)
    record = tenant.acceptance_records.get()
    row = record.countersignature

    packet = export(tmp_path)

    out, error = verify_command(packet, "--key", str(key))
    assert error is None, out
    manifest = json.loads(member(packet, "manifest.json"))
    assert "certificate/countersignature.json" in {f["path"] for f in manifest["files"]}
    assert manifest["acceptance"]["countersignature"] == "countersigned"
    file = json.loads(member(packet, "certificate/countersignature.json"))
    assert file["operator_name"] == row.operator_name and file["snapshot_sha256"] == record.snapshot_sha256
    link = DecisionLogEntry.objects.get(kind="acceptance_countersignature", object_id=row.pk)
    assert file["decision_log"]["entry_hash"] == link.entry_hash
    text = pdf_text(member(packet, "certificate/certificate.pdf"))
    assert record.signer_name in text and record.signer_email in text
    assert "Countersigned by" in text and row.operator_name in text
    assert record.snapshot_sha256 in text.replace("\n", "")


def test_a_packet_before_the_countersignature_says_so(settings, tmp_path, signed):
    portal_key(settings, tmp_path)
    packet = export(tmp_path, "contoso")
    certificate = json.loads(member(packet, "certificate/certificate.json"))
    assert certificate["countersignature"]["state"] == "awaiting countersignature"
    assert certificate["status_at_export"]["status"] == "Current, awaiting countersignature"
    assert "supersedes this packet" in certificate["status_at_export"]["detail"]
    assert "Awaiting countersignature" in pdf_text(member(packet, "certificate/certificate.pdf"))


def test_the_certificate_and_verify_page_say_countersigned(client, signed):
    tenant = signed.tenant
    client.force_login(buyer("contoso"))
    url = reverse("launchroom:certificate", args=[tenant.slug, signed.pk])
    assert "Awaiting countersignature" in client.get(url).content.decode()
    countersign(signed)
    page = client.get(url).content.decode()
    assert "Countersigned by" in page and "Olivia Okafor" in page
    body = client.get(reverse("launchroom:certificate_json", args=[tenant.slug, signed.pk])).json()
    assert body["countersignature"]["state"] == "countersigned"
    verify_page = Client().get(reverse("verify", args=[verification_code(signed.pk)])).content.decode()
    assert "countersigned on" in verify_page and "Olivia" not in verify_page


def test_the_command_lists_records_awaiting_countersignature(signed):
    out = StringIO()
    call_command("list_awaiting_countersignature", stdout=out)
    assert f"contoso\tpaid_beta\trecord {signed.pk}" in out.getvalue()
    assert "1 acceptance record(s) awaiting countersignature." in out.getvalue()
    countersign(signed)
    out = StringIO()
    call_command("list_awaiting_countersignature", stdout=out)
    assert "0 acceptance record(s) awaiting countersignature." in out.getvalue()


# Generated input (the strategies of tests/test_fuzz.py) ---------------------------------------

countersign_bodies = st.one_of(
    json_values.map(json.dumps),
    texts,
    st.dictionaries(st.one_of(st.just("note"), texts), json_values, max_size=2).map(json.dumps),
    texts.map(lambda note: json.dumps({"note": note})),
)


def test_it_never_fails_on_generated_countersignatures(signed):
    client = Client()
    client.force_login(operator())
    pks = st.one_of(st.just(signed.pk), st.integers(min_value=0, max_value=2**80))

    @EACH
    @given(action=st.sampled_from(["countersign", "decline", "admin"]), body=countersign_bodies, pk=pks)
    def check(action: str, body: str, pk: int) -> None:
        before = saved()
        if action == "admin":
            url = f"/admin/launchroom/acceptancerecord/{pk}/countersign/"
            note = body.encode("utf-8", "replace").decode("utf-8", "replace")
            response = client.post(url, {"note": note, "decline": "Decline"})
        else:
            response = post(client, pk, action, body.encode("utf-8", "surrogatepass"))
            assert_json(response)
        assert_no_5xx(response, body[:200])
        if response.status_code in (201, 302):
            assert saved()[0] == before[0] + 1
        else:
            assert saved() == before, (response.status_code, response.content[:300])

    check()


def test_it_does_not_ask_the_buyer_to_sign_again_while_awaiting_the_countersignature(db):
    tenant = ready_tenant("contoso")
    asked = Notification.objects.filter(kind=NotificationKind.READY_TO_SIGN, recipient__username="buyer-contoso")
    before = asked.count()
    sign(tenant, PAID)
    assert asked.count() == before
