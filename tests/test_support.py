"""The support fallback: incidents, manual notices and status broadcasts, for the support owner only."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.mail.backends.base import BaseEmailBackend
from django.urls import reverse
from django.utils import timezone

from core.errors import NotPermitted, Refused
from evidence.models import EvidenceAttachment
from launchroom import demo
from launchroom.models import (
    EmailKind,
    Incident,
    IncidentNotice,
    Notification,
    OutboundEmail,
    Severity,
    SupportPlan,
    Tenant,
)
from launchroom.readiness.evaluation import READY_FOR_REVIEW, evaluate
from launchroom.readiness.services import gate_decide
from launchroom.support import services as support
from tests.confirming import token_of

OTHER_ROLES = ["operator", "commercial", "finance", "security"]


class RecordingBackend(BaseEmailBackend):
    """Stands in for a real provider: anything not console/file/locmem/dummy delivers."""

    sent: list = []

    def send_messages(self, email_messages):
        type(self).sent.extend(email_messages)
        return len(email_messages)


@pytest.fixture(autouse=True)
def _no_mail_recorded():
    RecordingBackend.sent = []


@pytest.fixture
def tenant(staff):
    tenant = Tenant.objects.create(slug="acme", name="Acme Health")
    demo.support_plan(tenant, staff)
    return tenant


@pytest.fixture
def incident(tenant, staff):
    return support.incident_open(
        tenant=tenant,
        severity=Severity.SEV2,
        summary="Evidence downloads time out",
        customer_impact="Buyers cannot download smoke outputs from the launch room.",
        by=staff["support"],
    )


# Incidents -------------------------------------------------------------------------------------


def test_it_opens_records_notices_and_resolves_an_incident(tenant, staff, incident):
    assert incident.is_open and incident.opened_by == staff["support"]
    notice = support.incident_notice_add(
        incident=incident,
        recipient="Carlos Conti (buyer sponsor)",
        channel="Phone bridge",
        sent_at=timezone.now() - timedelta(minutes=3),
        text="We are investigating slow evidence downloads; next update in 30 minutes.",
        by=staff["support"],
    )
    assert notice.recorded_by == staff["support"]
    resolved = support.incident_resolve(incident=incident, resolution="Storage latency fixed.", by=staff["support"])
    assert not resolved.is_open and resolved.resolved_at >= resolved.opened_at
    assert resolved.history.count() == 2
    with pytest.raises(Refused, match="already resolved"):
        support.incident_resolve(incident=incident, resolution="Again.", by=staff["support"])


def test_it_refuses_incomplete_incidents_and_notices(tenant, staff, incident):
    with pytest.raises(ValidationError) as info:
        support.incident_open(tenant=tenant, severity="sev9", summary=" ", customer_impact="", by=staff["support"])
    assert set(info.value.message_dict) == {"severity", "summary", "customer_impact"}
    with pytest.raises(ValidationError) as info:
        support.incident_notice_add(
            incident=incident,
            recipient="x",
            channel="",
            sent_at=timezone.now() + timedelta(hours=1),
            text="t",
            by=staff["support"],
        )
    assert set(info.value.message_dict) == {"channel", "sent_at"}
    with pytest.raises(ValidationError):
        support.incident_resolve(incident=incident, resolution="", by=staff["support"])
    assert Incident.objects.count() == 1 and IncidentNotice.objects.count() == 0


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_only_the_support_owner_runs_the_incident_services(tenant, staff, incident, role):
    by = staff[role]
    with pytest.raises(NotPermitted):
        support.incident_open(tenant=tenant, severity="sev3", summary="s", customer_impact="c", by=by)
    with pytest.raises(NotPermitted):
        support.incident_notice_add(
            incident=incident, recipient="r", channel="c", sent_at=timezone.now(), text="t", by=by
        )
    with pytest.raises(NotPermitted):
        support.incident_resolve(incident=incident, resolution="r", by=by)
    with pytest.raises(NotPermitted):
        support.status_broadcast_dry_run(tenant=tenant, by=by)
    with pytest.raises(NotPermitted):
        support.support_plan_save(tenant=tenant, by=by, notes="n")
    assert Incident.objects.count() == 1 and not mail.outbox


def test_a_buyer_cannot_run_them_either(tenant, staff):
    buyer = demo.ensure_buyer(tenant, "buyer-acme", password="unused-password")
    with pytest.raises(NotPermitted):
        support.incident_open(tenant=tenant, severity="sev3", summary="s", customer_impact="c", by=buyer)


def told_of(incident, state: str) -> set[str]:  # type: ignore[no-untyped-def]
    return set(
        Notification.objects.filter(event_key=f"incident-{state}:{incident.pk}").values_list(
            "recipient__username", flat=True
        )
    )


def status_notices() -> list[tuple[str, str]]:
    """What reached the status subscribers' mailboxes: (address, subject), in order."""
    return [(m.to[0], m.subject) for m in RecordingBackend.sent if m.to[0].endswith("@acme.example")]


def test_opening_and_resolving_an_incident_tells_its_subscribers_and_people_once(
    tenant, staff, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = f"{__name__}.RecordingBackend"
    demo.ensure_buyer(tenant, "buyer-acme", password="unused-password")
    # The same address twice (in another case) is one subscriber.
    plan = SupportPlan.objects.get(tenant=tenant)
    support.support_plan_save(
        tenant=tenant, by=staff["support"], status_subscribers=plan.status_subscribers + "\nIT-OPS@acme.example"
    )
    with django_capture_on_commit_callbacks(execute=True):
        incident = support.incident_open(
            tenant=tenant,
            severity=Severity.SEV1,
            summary="Launch room unavailable",
            customer_impact="Buyers see an error page.",
            by=staff["support"],
        )
        assert RecordingBackend.sent == [], "queued, sent by the worker after commit"
    opened = "[Acme Health] Investigating: Launch room unavailable"
    assert status_notices() == [("sponsor@acme.example", opened), ("it-ops@acme.example", opened)]
    assert told_of(incident, "opened") == {"buyer-acme", "support"}
    queued = OutboundEmail.objects.filter(kind=EmailKind.BROADCAST, tenant=tenant)
    assert sorted(queued.values_list("to", "status")) == [
        ("it-ops@acme.example", "sent"),
        ("sponsor@acme.example", "sent"),
    ]

    RecordingBackend.sent = []
    with django_capture_on_commit_callbacks(execute=True):
        support.incident_resolve(incident=incident, resolution="Restarted the workers.", by=staff["support"])
    resolved = "[Acme Health] Resolved: Launch room unavailable"
    assert status_notices() == [("sponsor@acme.example", resolved), ("it-ops@acme.example", resolved)]
    assert "Resolved" in RecordingBackend.sent[0].body and "Restarted the workers." in RecordingBackend.sent[0].body
    assert told_of(incident, "resolved") == {"buyer-acme", "support"}

    # Resolving again is refused and tells nobody a second time.
    RecordingBackend.sent = []
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Refused):
        support.incident_resolve(incident=incident, resolution="Again.", by=staff["support"])
    assert RecordingBackend.sent == [] and queued.count() == 4
    assert Notification.objects.filter(event_key__startswith="incident-").count() == 4


def test_an_incident_of_a_tenant_without_a_support_plan_tells_no_subscriber(staff, django_capture_on_commit_callbacks):
    bare = Tenant.objects.create(slug="bare", name="Bare")
    with django_capture_on_commit_callbacks(execute=True):
        incident = support.incident_open(
            tenant=bare, severity="sev3", summary="Blip", customer_impact="None.", by=staff["support"]
        )
    assert not OutboundEmail.objects.filter(kind=EmailKind.BROADCAST).exists()
    assert told_of(incident, "opened") == {"support"}


# Status broadcasts ----------------------------------------------------------------------------


def test_a_dry_run_renders_one_message_per_subscriber_and_stores_gate_7_evidence(tenant, staff):
    result = support.status_broadcast_dry_run(tenant=tenant, by=staff["support"])

    assert not result.sent and not mail.outbox, "a dry run sends nothing, not even to the test outbox"
    assert result.backend == support.NOT_SENT
    assert [m.to for m in result.messages] == [["sponsor@acme.example"], ["it-ops@acme.example"]]
    assert result.messages[0].subject == "[Acme Health] Status broadcast test"
    assert "Incident channel: Shared channel #thesmios-acme" in result.messages[0].body
    assert "Support owner: Priya Patel <support@thesmios.example>\n" in result.messages[0].body
    attachment = result.attachment
    assert (attachment.gate_key, attachment.requirement_key) == ("support-fallback", "broadcast-dry-run")
    assert attachment.produced_by_command == "status_broadcast_dry_run"
    with attachment.file.open("rb") as fh:
        stored = json.load(fh)
    assert stored["sent"] is False and stored["subscribers"] == ["sponsor@acme.example", "it-ops@acme.example"]
    assert stored["backend"] == support.NOT_SENT
    assert len(stored["messages"]) == 2

    gate = evaluate(tenant).gate("support-fallback")
    assert gate.status == READY_FOR_REVIEW
    # Produced by the command, so the support owner who ran it may accept the gate.
    gate_decide(tenant=tenant, gate_key="support-fallback", decision="accepted", note="ok", by=staff["support"])
    assert evaluate(tenant).gate("support-fallback").met


def test_a_dry_run_for_an_incident_keeps_its_output_on_the_incident(tenant, staff, incident):
    result = support.status_broadcast_dry_run(tenant=tenant, incident=incident, by=staff["support"])
    assert result.messages[0].subject == "[Acme Health] Investigating: Evidence downloads time out"
    assert "What you may see: Buyers cannot download" in result.messages[0].body
    incident.refresh_from_db()
    assert "To: sponsor@acme.example" in incident.broadcast_dry_run_output
    assert result.attachment.note.endswith(f"for incident #{incident.pk}")


def test_a_dry_run_never_delivers_through_a_real_backend(tenant, staff, settings):
    settings.EMAIL_BACKEND = f"{__name__}.RecordingBackend"
    result = support.status_broadcast_dry_run(tenant=tenant, by=staff["support"])
    assert RecordingBackend.sent == []
    assert result.backend == support.NOT_SENT
    assert "Subject: [Acme Health] Status broadcast test" in result.output


@pytest.mark.parametrize("backend", ["filebased", "console"])
def test_a_dry_run_writes_nothing_beside_real_mail(tenant, staff, settings, tmp_path, capsys, backend):
    """Under make run mail goes to files in var/mail (the file backend): a dry run must not
    land there beside real mail, nor on the console; it is shown in its result instead."""
    settings.EMAIL_BACKEND = f"django.core.mail.backends.{backend}.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)
    result = support.status_broadcast_dry_run(tenant=tenant, by=staff["support"])
    assert list(tmp_path.iterdir()) == []
    assert "Status broadcast test" not in capsys.readouterr().out
    assert len(result.messages) == 2 and "To: it-ops@acme.example" in result.output
    # The controlled send is the one that reaches the backend, queued through the worker.
    assert not OutboundEmail.objects.exists()


def test_a_controlled_send_needs_a_delivering_backend(tenant, staff):
    tenant.controlled_send_configured = True
    tenant.save()
    with pytest.raises(Refused, match=r"\(locmem\) does not deliver: configure EMAIL_URL"):
        support.status_broadcast_dry_run(tenant=tenant, by=staff["support"], send=True)
    assert not mail.outbox and not EvidenceAttachment.objects.exists()


def test_a_controlled_send_needs_the_tenant_configured_for_it(tenant, staff, settings):
    settings.EMAIL_BACKEND = f"{__name__}.RecordingBackend"
    with pytest.raises(Refused, match="does not say the controlled send is configured"):
        support.status_broadcast_dry_run(tenant=tenant, by=staff["support"], send=True)
    assert RecordingBackend.sent == []


def test_a_controlled_send_is_queued_delivered_after_commit_and_stores_its_proof(
    tenant, staff, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = f"{__name__}.RecordingBackend"
    tenant.controlled_send_configured = True
    tenant.save()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = support.status_broadcast_dry_run(tenant=tenant, by=staff["support"], send=True)
        # Nothing is sent inside the request: the worker delivers once the change is committed.
        assert RecordingBackend.sent == []
    assert callbacks
    assert result.sent
    assert [m.to for m in RecordingBackend.sent] == [["sponsor@acme.example"], ["it-ops@acme.example"]]
    assert set(OutboundEmail.objects.values_list("status", flat=True)) == {"sent"}
    assert result.attachment.requirement_key == "controlled-send"
    assert result.attachment.produced_by_command == "status_broadcast_send"


def test_a_broadcast_needs_a_plan_with_subscribers(staff):
    bare = Tenant.objects.create(slug="bare", name="Bare")
    with pytest.raises(Refused, match="has no support plan"):
        support.status_broadcast_dry_run(tenant=bare, by=staff["support"])
    support.support_plan_save(tenant=bare, by=staff["support"], support_owner=staff["support"])
    with pytest.raises(Refused, match="no status subscribers"):
        support.status_broadcast_dry_run(tenant=bare, by=staff["support"])


def test_a_plan_refuses_subscribers_that_are_not_addresses(tenant, staff):
    with pytest.raises(ValidationError, match="Not an e-mail address: ops team"):
        support.support_plan_save(tenant=tenant, by=staff["support"], status_subscribers="a@b.example\nops team")


# Admin -----------------------------------------------------------------------------------------


def test_the_support_owner_opens_an_incident_with_a_notice_in_the_admin(client, staff, tenant):
    client.force_login(staff["support"])
    now = timezone.localtime()
    response = client.post(
        reverse("admin:launchroom_incident_add"),
        {
            "tenant": tenant.pk,
            "severity": "sev1",
            "summary": "Launch room down",
            "customer_impact": "Buyers see an error page.",
            "notices-TOTAL_FORMS": "1",
            "notices-INITIAL_FORMS": "0",
            "notices-0-recipient": "Sponsor",
            "notices-0-channel": "Phone",
            "notices-0-sent_at_0": now.strftime("%Y-%m-%d"),
            "notices-0-sent_at_1": now.strftime("%H:%M:%S"),
            "notices-0-text": "We know; fixing.",
        },
    )
    assert response.status_code == 302, response.context and response.context["errors"]
    incident = Incident.objects.get()
    assert incident.opened_by == staff["support"]
    assert incident.notices.get().recorded_by == staff["support"]

    change = reverse("admin:launchroom_incident_change", args=[incident.pk])
    response = client.post(
        change,
        {
            "resolution": "Restarted the app servers.",
            "notices-TOTAL_FORMS": "1",
            "notices-INITIAL_FORMS": "1",
            "notices-0-id": incident.notices.get().pk,
            "notices-0-incident": incident.pk,
        },
    )
    assert response.status_code == 302
    incident.refresh_from_db()
    assert not incident.is_open and incident.resolution == "Restarted the app servers."


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_other_staff_cannot_add_or_change_support_records_in_the_admin(client, staff, tenant, incident, role):
    client.force_login(staff[role])
    assert client.get(reverse("admin:launchroom_incident_add")).status_code == 403
    assert client.get(reverse("admin:launchroom_supportplan_add")).status_code == 403
    change = reverse("admin:launchroom_incident_change", args=[incident.pk])
    assert client.post(change, {"resolution": "done"}).status_code == 403
    response = client.post(
        reverse("admin:launchroom_supportplan_changelist"),
        {"action": "status_broadcast", "_selected_action": [tenant.support_plan.pk], "confirm": "yes"},
    )
    if response.status_code == 200:  # a viewer: the changelist again, without the action
        action_form = response.context["action_form"]
        assert action_form is None or "status_broadcast" not in dict(action_form.fields["action"].choices)
    else:
        assert response.status_code == 403
    assert not mail.outbox and not EvidenceAttachment.objects.exists()
    incident.refresh_from_db()
    assert incident.is_open


def test_the_broadcast_action_confirms_then_runs_a_dry_run(client, staff, tenant):
    client.force_login(staff["support"])
    changelist = reverse("admin:launchroom_supportplan_changelist")
    plan = SupportPlan.objects.get(tenant=tenant)

    response = client.post(changelist, {"action": "status_broadcast", "_selected_action": [plan.pk]})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Status broadcast dry-run" in html
    assert "sponsor@acme.example, it-ops@acme.example" in html
    assert 'name="really_send" id="id_really_send" disabled' in html  # locmem does not deliver
    assert not mail.outbox

    form = {"action": "status_broadcast", "_selected_action": [plan.pk]}
    response = client.post(changelist, {**form, **token_of(response), "confirm": "yes"}, follow=True)
    said = (
        "Acme Health: the status notice was rendered, not sent (no e-mail backend saw it), for 2 subscribers "
        "and stored as gate 7 evidence"
    )
    assert said in response.content.decode()
    assert not mail.outbox
    assert EvidenceAttachment.objects.get().requirement_key == "broadcast-dry-run"
    assert client.get(changelist).context["cl"].result_list[0].last_dry_run_at is not None


def test_the_broadcast_action_sends_only_when_really_send_is_ticked(
    client, staff, tenant, incident, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = f"{__name__}.RecordingBackend"
    tenant.controlled_send_configured = True
    tenant.save()
    client.force_login(staff["support"])
    changelist = reverse("admin:launchroom_incident_changelist")
    form = {"action": "status_broadcast", "_selected_action": [incident.pk]}
    client.post(changelist, {**form, **token_of(client.post(changelist, form)), "confirm": "yes"})
    assert RecordingBackend.sent == []
    confirmation = token_of(client.post(changelist, form))  # the page again: the dry run moved gate 7
    with django_capture_on_commit_callbacks(execute=True):
        client.post(changelist, {**form, **confirmation, "confirm": "yes", "really_send": "on"})
    # The two subscribers' notices (the staff are also told of the new evidence, in their inbox).
    assert sorted(m.to[0] for m in RecordingBackend.sent if m.to[0].endswith("@acme.example")) == [
        "it-ops@acme.example",
        "sponsor@acme.example",
    ]
    assert sorted(EvidenceAttachment.objects.values_list("requirement_key", flat=True)) == [
        "broadcast-dry-run",
        "controlled-send",
    ]


def test_the_support_owner_edits_a_plan_through_the_service(client, staff, tenant):
    client.force_login(staff["support"])
    plan = SupportPlan.objects.get(tenant=tenant)
    response = client.post(
        reverse("admin:launchroom_supportplan_change", args=[plan.pk]),
        {
            "support_owner": staff["support"].pk,
            "support_owner_name": "Priya Patel",
            "support_owner_email": "support@thesmios.example",
            "escalation_route": "Support owner, then on-call operator",
            "manual_incident_channel": "#thesmios-acme",
            "status_subscribers": "sponsor@acme.example\nnot an address",
            "notes": "",
        },
    )
    assert response.status_code == 200
    assert "Not an e-mail address: not an address." in response.content.decode()
    plan.refresh_from_db()
    assert plan.manual_incident_channel.startswith("Shared channel")


@pytest.mark.parametrize("rows", [1, 30])
def test_the_incident_changelist_runs_a_constant_number_of_queries(
    client, staff, tenant, rows, django_assert_num_queries
):
    for i in range(rows):
        support.incident_open(
            tenant=tenant, severity="sev3", summary=f"Blip {i}", customer_impact="None.", by=staff["support"]
        )
    client.force_login(staff["support"])
    # session, user, groups (role check), user and group permissions, count, page of rows
    # (tenant joined, notices counted), the unread notifications beside "Notifications"
    with django_assert_num_queries(8):
        response = client.get(reverse("admin:launchroom_incident_changelist"))
    assert response.status_code == 200
