"""Every e-mail a person can trigger again and again goes through the one e-mail throttle
(``EMAIL_THROTTLE_PER_ACCOUNT`` / ``EMAIL_THROTTLE_PER_ADDRESS``): an invitation's resends count
with the invitation, and the support owner's controlled status broadcast counts per subscriber.
Past the limit: a clear refusal and no e-mail."""

from __future__ import annotations

import pytest
from django.core.mail.backends import locmem

from core.errors import Refused
from evidence.models import EvidenceAttachment
from launchroom.models import OutboundEmail, TenantMembership
from launchroom.support.services import status_broadcast_dry_run
from launchroom.tenants.accounts import invite_buyer
from tests.factories import SupportPlanFactory, TenantFactory

pytestmark = pytest.mark.django_db


class DeliveringBackend(locmem.EmailBackend):
    """locmem under another name: a backend the controlled send counts as delivering."""


def resend(client, membership):  # type: ignore[no-untyped-def]
    return client.post(
        "/admin/launchroom/tenantmembership/",
        {"action": "resend_invitation", "_selected_action": [membership.pk]},
        follow=True,
    )


def test_it_refuses_an_invitation_resend_past_the_limit_with_a_clear_message(client, staff, settings):
    settings.EMAIL_THROTTLE_PER_ACCOUNT = 3
    tenant = TenantFactory()
    invite_buyer(tenant=tenant, email="dana@acme.example", role="viewer", by=staff["commercial"])
    membership = TenantMembership.objects.get(user__email="dana@acme.example")
    client.force_login(staff["commercial"])
    for _ in range(2):
        page = resend(client, membership).content.decode()
        assert "Invitation queued again for dana@acme.example" in page
    assert OutboundEmail.objects.filter(to="dana@acme.example").count() == 3

    page = resend(client, membership).content.decode()
    assert "Not re-sent to" in page
    assert "Too many invitations went to this e-mail address lately: nothing was sent." in page
    assert OutboundEmail.objects.filter(to="dana@acme.example").count() == 3


def test_it_refuses_a_controlled_send_past_the_limit_and_sends_nothing(staff, settings):
    settings.EMAIL_BACKEND = f"{__name__}.DeliveringBackend"
    settings.EMAIL_THROTTLE_PER_ACCOUNT = 2
    plan = SupportPlanFactory(
        tenant=TenantFactory(controlled_send_configured=True), status_subscribers="ops@acme.example"
    )
    for _ in range(2):
        status_broadcast_dry_run(tenant=plan.tenant, by=staff["support"], send=True)
    attached = EvidenceAttachment.objects.count()
    with pytest.raises(Refused, match="Too many status broadcasts went to this e-mail address lately"):
        status_broadcast_dry_run(tenant=plan.tenant, by=staff["support"], send=True)
    assert OutboundEmail.objects.filter(to="ops@acme.example").count() == 2
    assert EvidenceAttachment.objects.count() == attached
    # The dry run sends nothing and is not counted.
    status_broadcast_dry_run(tenant=plan.tenant, by=staff["support"])
