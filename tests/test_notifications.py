"""Notifications, queued e-mail with retries, the reminder sweep and the digest (the scheduler:
tests/test_scheduler.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.types import User
from launchroom import demo
from launchroom.models import (
    ACTION_KINDS,
    Delivery,
    EmailStatus,
    Notification,
    NotificationKind,
    NotificationPreference,
    OutboundEmail,
    TenantMembership,
    TenantReadiness,
)
from launchroom.notifications.events import acceptance_decided, evidence_expiry_reminders
from launchroom.notifications.services import mark_all_read, notify
from launchroom.notifications.tasks import send_digests
from launchroom.tenants.accounts import invite_buyer
from tests.launch_helpers import buyer, like_demo, sign_form
from tests.smtp_server import SMTPServer, closed_port

pytestmark = pytest.mark.django_db


def smtp_settings(settings, port: int) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5


def test_it_saves_the_invitation_marks_it_failed_when_smtp_is_down_and_resends_once_it_is_back(
    client, staff, settings, django_capture_on_commit_callbacks
):
    tenant = like_demo("northwind")
    smtp_settings(settings, closed_port())
    settings.EMAIL_MAX_ATTEMPTS = 3
    client.force_login(staff["commercial"])
    url = reverse("admin:launchroom_tenant_invite", args=[tenant.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"email": "dana@northwind.example", "role": "buyer_sponsor"})
    assert response.status_code == 302, "an SMTP failure never answers 500"
    membership = TenantMembership.objects.get(tenant=tenant, user__email="dana@northwind.example")
    email = OutboundEmail.objects.get(membership=membership)
    assert email.status == EmailStatus.FAILED
    assert email.attempts == 3 and "ConnectionRefusedError" in email.last_error

    changelist = reverse("admin:launchroom_tenantmembership_changelist")
    assert "E-mail failed" in client.get(changelist).content.decode()

    with SMTPServer() as server:
        smtp_settings(settings, server.port)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                changelist, {"action": "resend_invitation", "_selected_action": [membership.pk]}, follow=True
            )
        assert "Invitation queued again for dana@northwind.example" in response.content.decode()
        assert len(server.received) == 1 and "northwind" in server.received[0].lower()
    statuses = list(OutboundEmail.objects.filter(membership=membership).values_list("status", flat=True))
    assert sorted(statuses) == ["failed", "sent"]


def test_it_retries_a_failed_send_and_counts_the_attempts(staff, settings, django_capture_on_commit_callbacks):
    tenant = like_demo("northwind")
    smtp_settings(settings, closed_port())
    settings.EMAIL_MAX_ATTEMPTS = 2
    with django_capture_on_commit_callbacks(execute=True):
        invite_buyer(tenant=tenant, email="x@northwind.example", role="viewer", by=staff["commercial"])
    email = OutboundEmail.objects.get(to="x@northwind.example")
    assert (email.status, email.attempts) == (EmailStatus.FAILED, 2)


def test_it_sends_nothing_inside_the_request(staff, django_capture_on_commit_callbacks):
    tenant = like_demo("northwind")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        invite_buyer(tenant=tenant, email="y@northwind.example", role="viewer", by=staff["commercial"])
    assert mail.outbox == [] and OutboundEmail.objects.get(to="y@northwind.example").status == EmailStatus.QUEUED
    assert callbacks, "the delivery waits for the commit"


def test_it_tells_operators_and_the_commercial_owner_of_a_signature_once(
    client, staff, django_capture_on_commit_callbacks
):
    tenant = like_demo("contoso")
    client.force_login(buyer("contoso"))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("launchroom:sign", args=[tenant.slug]), sign_form(tenant))
    assert response.status_code in (200, 302)
    rows = Notification.objects.filter(kind=NotificationKind.ACCEPTANCE_DECIDED, tenant=tenant)
    recipients = {n.recipient.username for n in rows}
    assert {"operator", "commercial"} <= recipients
    assert all("signed the acceptance" in n.subject for n in rows)
    # Needs no action: e-mailed in the daily digest, not at once.
    assert {n.delivery for n in rows} == {Delivery.DIGEST_PENDING}
    record = tenant.acceptance_records.get()
    acceptance_decided(record)  # noticed again: told once
    assert Notification.objects.filter(kind=NotificationKind.ACCEPTANCE_DECIDED, tenant=tenant).count() == rows.count()


def expiring_evidence(tenant) -> list[tuple[str, int, datetime]]:
    """(username of the deciding role's one demo member, attachment id, when it goes stale) for
    every piece of evidence the tenant's readiness rests on that has a freshness limit."""
    from evidence.freshness import freshness_limit
    from launchroom.readiness.evaluation import evaluate

    member_of = {role: username for username, role in demo.STAFF.items()}
    found = []
    for gate in evaluate(tenant).gates:
        for result in gate.requirements:
            limit = freshness_limit(result.requirement)
            if result.met and result.attachment and limit and gate.gate.decided_by:
                found.append(
                    (member_of[gate.gate.decided_by], result.attachment.pk, result.attachment.captured_at + limit)
                )
    return found


def reminders() -> set[tuple[str, str]]:
    return set(
        Notification.objects.filter(kind=NotificationKind.EVIDENCE_EXPIRING).values_list(
            "recipient__username", "event_key"
        )
    )


def test_it_reminds_the_gate_owner_role_7_days_and_1_day_before_evidence_goes_stale(staff, settings):
    tenant = like_demo("globex")
    settings.EVIDENCE_FRESHNESS_DAYS = 30
    evidence = expiring_evidence(tenant)
    first = min(expires for _, _, expires in evidence)
    # Only globex is swept: the other demo tenants' stored rows put their first expiry far off.
    TenantReadiness.objects.exclude(tenant=tenant).update(valid_until=first + timedelta(days=60))
    Notification.objects.filter(kind=NotificationKind.EVIDENCE_EXPIRING).delete()

    assert evidence_expiry_reminders(now=first - timedelta(days=8)) == 0 and reminders() == set()

    now = first - timedelta(days=6)
    week = {(who, f"expiring-7d:{pk}") for who, pk, expires in evidence if now < expires <= now + timedelta(days=7)}
    assert ("operator", f"expiring-7d:{min(pk for who, pk, e in evidence if e == first)}") in week
    assert evidence_expiry_reminders(now=now) == len(week)
    assert reminders() == week
    row = Notification.objects.filter(kind=NotificationKind.EVIDENCE_EXPIRING, recipient__username="operator")[0]
    assert "goes stale in 6 days" in row.subject and row.link == f"/admin/launchroom/tenant/{tenant.pk}/change/"
    # The sweep again, as a second scheduler or a retried task would: nothing new, and it says so.
    assert evidence_expiry_reminders(now=now) == 0
    assert reminders() == week

    later = first - timedelta(hours=12)
    due = [(who, pk, expires) for who, pk, expires in evidence if later < expires <= later + timedelta(days=7)]
    day = {(who, f"expiring-1d:{pk}") for who, pk, expires in due if expires <= later + timedelta(days=1)}
    new_week = {(who, f"expiring-7d:{pk}") for who, pk, _ in due} - week
    assert day, "the evidence going stale first gets its one-day reminder"
    assert all(key.startswith("expiring-1d:") for _, key in day)
    assert {f"expiring-7d:{key.split(':')[1]}" for _, key in day} <= {key for _, key in week}
    assert evidence_expiry_reminders(now=later) == len(day) + len(new_week)
    assert reminders() == week | day | new_week
    assert evidence_expiry_reminders(now=later) == 0 and reminders() == week | day | new_week


def test_it_picks_the_tenants_to_remind_from_their_stored_valid_until(staff, settings):
    """The sweep loads only tenants whose stored row says evidence reaches its limit within 7
    days (valid until by then, passed, or no row yet): the rest are not evaluated at all."""
    tenant = like_demo("globex")
    settings.EVIDENCE_FRESHNESS_DAYS = 30
    row = TenantReadiness.objects.get(tenant=tenant)
    assert row.valid_until is not None
    when = row.valid_until - timedelta(days=6)
    # A stored row that (wrongly) put the first expiry beyond the horizon keeps the tenant out
    # (the module's other demo tenants are put beyond it too: this test is about globex).
    TenantReadiness.objects.update(valid_until=when + timedelta(days=8))
    with CaptureQueriesContext(connection) as skipped:
        assert evidence_expiry_reminders(now=when) == 0
    assert len(skipped.captured_queries) == 1  # the tenant query, empty: nothing loaded
    TenantReadiness.objects.filter(pk=row.pk).update(valid_until=row.valid_until)
    assert evidence_expiry_reminders(now=when) > 0


def test_the_digest_gathers_pending_notifications_once(staff, django_capture_on_commit_callbacks):
    tenant = like_demo("contoso")
    record_user = staff["commercial"]
    Notification.objects.all().delete()  # derived rows: start from an empty inbox
    Notification.objects.create(
        recipient=record_user,
        kind=NotificationKind.INCIDENT,
        tenant=tenant,
        event_key="e1",
        subject="One",
        body="b",
        delivery=Delivery.DIGEST_PENDING,
    )
    Notification.objects.create(
        recipient=record_user,
        kind=NotificationKind.INCIDENT,
        tenant=tenant,
        event_key="e2",
        subject="Two",
        body="b",
        delivery=Delivery.DIGEST_PENDING,
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert send_digests(now=timezone.now()) == 1
    assert len(mail.outbox) == 1 and "2 updates" in mail.outbox[0].subject
    assert "One" in mail.outbox[0].body and "Two" in mail.outbox[0].body
    with django_capture_on_commit_callbacks(execute=True):
        assert send_digests(now=timezone.now()) == 0
    assert len(mail.outbox) == 1


def test_an_immediate_preference_emails_at_once_and_off_never(staff, django_capture_on_commit_callbacks):
    tenant = like_demo("contoso")
    NotificationPreference.objects.create(user=staff["commercial"], email_mode="immediate")
    NotificationPreference.objects.create(user=staff["operator"], email_mode="off")
    staff["commercial"].email = "commercial@thesmios.example"
    staff["commercial"].save()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        notify(
            recipients=User.objects.filter(username__in=["commercial", "operator"]),
            kind=NotificationKind.INCIDENT,
            tenant=tenant,
            event_key="incident-x",
            subject="Incident opened",
            body="Something broke.",
        )
    # (The delivery also takes whatever else the prebuilt demo left pending: only this event's mail counts.)
    assert [m.to for m in mail.outbox if m.subject == "Incident opened"] == [["commercial@thesmios.example"]]
    assert Notification.objects.get(recipient=staff["operator"], event_key="incident-x").delivery == Delivery.NONE


def test_the_inbox_shows_a_buyer_only_their_tenants_and_marks_all_read(client, staff):
    contoso = like_demo("contoso")
    globex = like_demo("globex")
    me = buyer("contoso")
    Notification.objects.all().delete()  # derived rows: start from an empty inbox
    Notification.objects.create(recipient=me, kind="incident", tenant=contoso, event_key="a", subject="Mine", body="x")
    Notification.objects.create(
        recipient=me, kind="incident", tenant=globex, event_key="b", subject="Not mine", body="x"
    )
    client.force_login(me)
    page = client.get(reverse("notifications:inbox")).content.decode()
    assert "Mine" in page and "Not mine" not in page
    assert 'aria-label="1 unread"' in page
    response = client.post(reverse("notifications:read_all"), follow=True)
    assert "Marked 1 notification read." in response.content.decode()
    assert 'unread"' not in response.content.decode().split("<main")[0]


def test_the_inbox_saves_the_email_preference_and_refuses_a_bad_one(client, staff):
    like_demo("contoso")
    me = buyer("contoso")
    client.force_login(me)
    response = client.post(reverse("notifications:inbox"), {"email_mode": "sometimes"})
    assert response.status_code == 400 and not NotificationPreference.objects.exists()
    response = client.post(reverse("notifications:inbox"), {"email_mode": "digest"})
    assert response.status_code == 302
    assert NotificationPreference.objects.get(user=me).email_mode == "digest"


def test_opening_a_notification_marks_it_read_and_goes_to_the_place_to_act(client, staff):
    tenant = like_demo("contoso")
    me = buyer("contoso")
    row = Notification.objects.create(
        recipient=me, kind="incident", tenant=tenant, event_key="c", subject="S", body="b", link="/launch-room/contoso/"
    )
    other = Notification.objects.create(
        recipient=staff["operator"], kind="incident", tenant=tenant, event_key="c", subject="S", body="b"
    )
    client.force_login(me)
    response = client.get(reverse("notifications:open", args=[row.pk]))
    assert response.status_code == 302 and response["Location"] == "/launch-room/contoso/"
    row.refresh_from_db()
    assert row.read_at is not None
    assert client.get(reverse("notifications:open", args=[other.pk])).status_code == 404


def test_the_inbox_needs_a_login(client):
    response = client.get(reverse("notifications:inbox"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def kinds_of(username: str, tenant) -> list[str]:
    return list(Notification.objects.filter(recipient__username=username, tenant=tenant).values_list("kind", flat=True))


def test_the_buyer_sponsor_is_told_once_when_the_tenant_is_ready_to_sign(staff):
    tenant = like_demo("contoso")
    assert kinds_of("buyer-contoso", tenant).count(NotificationKind.READY_TO_SIGN) == 1
    # Another change while still ready (new evidence on a met gate) tells nobody again.
    from launchroom import demo_evidence

    demo_evidence.attach_evidence(tenant, staff, "public-deployment", age_days=1)
    assert kinds_of("buyer-contoso", tenant).count(NotificationKind.READY_TO_SIGN) == 1
    row = Notification.objects.get(recipient__username="buyer-contoso", kind=NotificationKind.READY_TO_SIGN)
    assert row.link == f"/launch-room/{tenant.slug}/#acceptance" and "sign the acceptance record" in row.body


def test_a_fall_from_go_to_hold_tells_operators_the_commercial_owner_and_the_buyer_in_their_words(staff):
    from launchroom.readiness.services import gate_decide

    tenant = like_demo("globex")
    gate_decide(tenant=tenant, gate_key="tenant-access-proof", decision="reopened", note="Re-run", by=staff["operator"])
    staff_row = Notification.objects.get(recipient=staff["operator"], kind=NotificationKind.FELL_TO_HOLD)
    assert "fell from go to hold" in staff_row.subject and "gate_decide" in staff_row.body
    buyer_row = Notification.objects.get(recipient__username="buyer-globex", kind=NotificationKind.FELL_TO_HOLD)
    assert "on hold" in buyer_row.subject and "gate_decide" not in buyer_row.body
    assert "Authenticated tenant access proof" in buyer_row.body
    assert Notification.objects.filter(recipient=staff["commercial"], kind=NotificationKind.FELL_TO_HOLD).exists()


def test_a_gate_ready_for_review_tells_the_members_of_its_deciding_role(staff):
    tenant = like_demo("northwind")
    rows = Notification.objects.filter(tenant=tenant, kind=NotificationKind.READY_FOR_REVIEW)
    assert {n.recipient.username for n in rows} == {"operator"}
    assert any("gate 1 is ready for your review" in n.subject for n in rows)
    assert rows.first().link.startswith(f"/admin/launchroom/tenant/{tenant.pk}/decide/?gate=")


def test_changed_billing_terms_after_acceptance_tell_buyer_finance_and_the_sponsor(staff):
    from billing.models import BillingProfile
    from billing.services import billing_profile_save

    tenant = like_demo("contoso")
    profile = BillingProfile.objects.get(tenant=tenant)
    billing_profile_save(tenant=tenant, by=staff["finance"], seat_cap=profile.seat_cap + 50)
    told = Notification.objects.filter(tenant=tenant, kind=NotificationKind.BILLING_TERMS_CHANGED)
    assert {n.recipient.username for n in told} == {"buyer-contoso", "finance-contoso"}
    assert all(n.link == f"/launch-room/{tenant.slug}/#billing" for n in told)


def test_the_demo_leaves_every_demo_user_something_in_the_inbox(django_capture_on_commit_callbacks):
    from django.core.management import call_command

    call_command("seed_demo", force=True, stdout=open("/dev/null", "w"))  # noqa: SIM115
    from launchroom import demo

    for username in [*demo.STAFF, *demo.buyer_usernames()]:
        assert Notification.objects.filter(recipient__username=username).exists(), username
    assert Notification.objects.filter(recipient__username="buyer-contoso", kind=NotificationKind.READY_TO_SIGN)


def test_telling_adds_two_queries_to_the_change_and_delivers_after_commit(
    staff, django_assert_num_queries, django_capture_on_commit_callbacks
):
    tenant = like_demo("contoso")
    # The recipients with what they were already told, then one insert of every recipient's
    # row; the preference is read by the worker.
    with django_capture_on_commit_callbacks(execute=False) as callbacks, django_assert_num_queries(2):
        created = notify(
            recipients=User.objects.filter(username__in=["operator", "commercial"]),
            kind=NotificationKind.INCIDENT,
            tenant=tenant,
            event_key="one-query",
            subject="Incident opened",
            body="Something broke.",
        )
    assert created == 2
    assert set(Notification.objects.filter(event_key="one-query").values_list("delivery", flat=True)) == {"pending"}
    assert len(callbacks) == 1
    callbacks[0]()  # the worker: each recipient's preference decides (auto: an incident waits for the digest)
    assert set(Notification.objects.filter(event_key="one-query").values_list("delivery", flat=True)) == {
        Delivery.DIGEST_PENDING
    }


def test_notify_reports_the_rows_it_wrote_and_skips_the_inactive_and_those_already_told(
    staff, django_capture_on_commit_callbacks
):
    tenant = like_demo("contoso")
    staff["finance"].is_active = False
    staff["finance"].save()
    everyone = User.objects.filter(username__in=["operator", "commercial", "finance"])
    told = {
        "recipients": everyone,
        "kind": NotificationKind.INCIDENT,
        "tenant": tenant,
        "event_key": "told-once",
        "subject": "S",
        "body": "B",
    }
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert notify(**told) == 2
        assert notify(**told) == 0, "a rerun writes nothing and says so"
    assert len(callbacks) == 1, "a rerun that told nobody queues no delivery"
    assert set(Notification.objects.filter(event_key="told-once").values_list("recipient__username", flat=True)) == {
        "operator",
        "commercial",
    }


def test_notify_gives_staff_and_customers_their_own_words_and_links(staff):
    from launchroom.notifications.services import BySide, link_to

    tenant = like_demo("contoso")
    notify(
        recipients=User.objects.filter(username__in=["operator", "buyer-contoso"]),
        kind=NotificationKind.INCIDENT,
        tenant=tenant,
        event_key="by-side",
        subject=BySide(staff="For staff", customer="For the buyer"),
        body="Same body",
        link=link_to(tenant, room="#support", staff="/admin/x/"),
    )
    rows = {n.recipient.username: n for n in Notification.objects.filter(event_key="by-side")}
    assert (rows["operator"].subject, rows["operator"].link) == ("For staff", "/admin/x/")
    assert (rows["buyer-contoso"].subject, rows["buyer-contoso"].link) == (
        "For the buyer",
        "/launch-room/contoso/#support",
    )
    assert rows["operator"].body == rows["buyer-contoso"].body == "Same body"


def test_notify_refuses_recipients_it_would_have_to_evaluate_and_an_empty_event_key(staff):
    tenant = like_demo("contoso")
    with pytest.raises(TypeError, match="queryset of users"):
        notify(recipients=[staff["operator"]], kind="incident", tenant=tenant, event_key="k", subject="S", body="B")
    with pytest.raises(ValueError, match="needs an event key"):
        notify(recipients=User.objects.all(), kind="incident", tenant=tenant, event_key="", subject="S", body="B")
    assert not Notification.objects.filter(event_key="k").exists()


def test_a_digest_preference_holds_back_even_what_needs_action_and_sends_it_once_in_the_digest(
    staff, django_capture_on_commit_callbacks
):
    tenant = like_demo("northwind")
    operator = staff["operator"]
    operator.email = "operator@thesmios.example"
    operator.save()
    NotificationPreference.objects.create(user=operator, email_mode="digest")
    Notification.objects.filter(recipient=operator).update(delivery=Delivery.DIGESTED)  # an empty digest so far
    assert NotificationKind.READY_FOR_REVIEW in ACTION_KINDS
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        notify(
            recipients=User.objects.filter(pk=operator.pk),
            kind=NotificationKind.READY_FOR_REVIEW,
            tenant=tenant,
            event_key="review:digest-test",
            subject="Northwind Traders: gate 1 is ready for your review",
            body="Every requirement of gate 1 is met.",
        )
    row = Notification.objects.get(recipient=operator, event_key="review:digest-test")
    assert row.delivery == Delivery.DIGEST_PENDING and row.email is None
    assert [m for m in mail.outbox if m.to == [operator.email]] == [], "not e-mailed at once, although it needs action"
    with django_capture_on_commit_callbacks(execute=True):
        assert send_digests(now=timezone.now()) >= 1
    mine = [m for m in mail.outbox if m.to == [operator.email]]
    assert len(mine) == 1 and "gate 1 is ready for your review" in mine[0].body
    row.refresh_from_db()
    assert row.delivery == Delivery.DIGESTED
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        send_digests(now=timezone.now())
    assert [m for m in mail.outbox if m.to == [operator.email]] == [], "in one digest only"


def test_the_admin_shows_the_inbox_link_with_the_unread_count(client, staff):
    tenant = like_demo("contoso")
    operator = staff["operator"]
    Notification.objects.filter(recipient=operator).delete()
    for key in ("a", "b"):
        Notification.objects.create(
            recipient=operator, kind="incident", tenant=tenant, event_key=key, subject=key, body=""
        )
    client.force_login(operator)
    tools = client.get(reverse("admin:index")).content.decode().split('id="user-tools"')[1].split("</div>")[0]
    assert f'<a href="{reverse("notifications:inbox")}">Notifications' in tools
    assert '<span class="badge" aria-label="2 unread">2</span>' in tools
    mark_all_read(user=operator)
    tools = client.get(reverse("admin:index")).content.decode().split('id="user-tools"')[1].split("</div>")[0]
    assert "Notifications</a>" in tools and "unread" not in tools
