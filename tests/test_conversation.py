"""The per-tenant conversation: comments kept for good, shown in the room and the admin, and
the other side told."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from core.append_only import AppendOnlyError
from core.errors import NotPermitted
from launchroom import demo
from launchroom.conversation.services import comment_add
from launchroom.models import Comment, LaunchStage, MembershipRole, Notification, Tenant
from tests.launch_helpers import member

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tenant(staff):
    tenant = Tenant.objects.create(slug="acme", name="Acme Health", commercial_owner=staff["commercial"])
    demo.ensure_buyer(tenant, "buyer-acme", name=("Ada", "Acme"))
    return tenant


def sponsor():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username="buyer-acme")


def test_a_buyer_comment_on_a_gate_tells_the_commercial_owner_and_the_deciding_role(staff, tenant):
    comment = comment_add(tenant=tenant, author=sponsor(), body="When is the smoke run?", gate_key="public-deployment")
    assert comment.subject == "gate 1: Public deployment and route protection"
    told = Notification.objects.filter(event_key=f"comment:{comment.pk}")
    assert {n.recipient.username for n in told} == {"commercial", "operator"}
    assert all("When is the smoke run?" in n.body for n in told)


def test_a_staff_comment_on_an_order_form_tells_the_buyers(staff, tenant):
    order_form = demo.scoped_order_form(tenant, staff, requested_stage=LaunchStage.PAID_BETA, sign=False)
    member(tenant, "finance-acme", MembershipRole.BUYER_FINANCE)
    comment = comment_add(tenant=tenant, author=staff["commercial"], body="v1 is ready.", order_form=order_form)
    told = Notification.objects.filter(event_key=f"comment:{comment.pk}")
    assert sorted(n.recipient.username for n in told) == ["buyer-acme", "finance-acme"]


def test_it_refuses_bad_comments_and_saves_nothing(staff, tenant):
    other = Tenant.objects.create(slug="rival", name="Rival")
    rival_form = demo.scoped_order_form(other, staff, requested_stage=LaunchStage.PAID_BETA, sign=False)
    for kwargs in (
        {"body": "  ", "gate_key": "public-deployment"},
        {"body": "x" * 5001, "gate_key": "public-deployment"},
        {"body": "\x07", "gate_key": "public-deployment"},  # a control character alone
        {"body": "Ring \x07 twice\x00", "gate_key": "public-deployment"},
        {"body": "Hi"},
        {"body": "Hi", "gate_key": "no-such-gate"},
        {"body": "Hi", "order_form": rival_form},
    ):
        with pytest.raises(ValidationError):
            comment_add(tenant=tenant, author=sponsor(), **kwargs)
    with pytest.raises(NotPermitted):
        comment_add(tenant=tenant, author=member(tenant, "viewer-acme"), body="Hi", gate_key="public-deployment")
    assert not Comment.objects.exists()
    assert not mail.outbox


def test_comments_are_kept(staff, tenant):
    comment = comment_add(tenant=tenant, author=sponsor(), body="Hello", gate_key="public-deployment")
    with pytest.raises(AppendOnlyError):
        comment.delete()
    comment.body = "Edited"
    with pytest.raises(AppendOnlyError):
        comment.save()
    with pytest.raises(AppendOnlyError):
        Comment.objects.all().delete()
    assert Comment.history.count() == 1


def test_the_room_shows_the_thread_and_takes_a_comment(client, staff, tenant):
    client.force_login(sponsor())
    room = reverse("launchroom:room", args=[tenant.slug])
    assert "No comments yet." in client.get(room).content.decode()
    response = client.post(
        reverse("launchroom:comment", args=[tenant.slug]),
        {"subject": "gate:billing-route", "body": "Who is our invoice contact?", "next": room},
        follow=True,
    )
    body = response.content.decode()
    assert "Your comment was added to the conversation" in body
    assert "Who is our invoice contact?" in body
    assert Comment.objects.get().gate_key == "billing-route"


def test_the_room_refuses_an_empty_comment_and_non_members_get_404(client, staff, tenant):
    client.force_login(sponsor())
    url = reverse("launchroom:comment", args=[tenant.slug])
    response = client.post(url, {"subject": "gate:billing-route", "body": ""}, follow=True)
    assert "Your comment was not added" in response.content.decode()
    other = Tenant.objects.create(slug="rival", name="Rival")
    client.force_login(demo.ensure_buyer(other, "buyer-rival"))
    assert client.post(url, {"subject": "gate:billing-route", "body": "Hi"}).status_code == 404
    assert not Comment.objects.exists()


def test_the_admin_shows_the_thread_on_the_tenant_page_and_adds_comments(client, staff, tenant):
    comment_add(tenant=tenant, author=sponsor(), body="A question from the buyer", gate_key="billing-route")
    client.force_login(staff["operator"])
    page = client.get(reverse("admin:launchroom_tenant_change", args=[tenant.pk])).content.decode()
    assert "A question from the buyer" in page
    response = client.post(
        reverse("admin:launchroom_comment_add"),
        {"tenant": tenant.pk, "gate_key": "billing-route", "body": "Answered by staff"},
        follow=True,
    )
    assert response.status_code == 200
    assert Comment.objects.filter(body="Answered by staff", author=staff["operator"]).exists()
    assert client.get(reverse("admin:launchroom_comment_changelist")).status_code == 200
