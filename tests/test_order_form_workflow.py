"""The order-form workflow: send to buyer, the buyer approves or requests changes, and the
commercial owner records the signature."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from core.errors import NotPermitted, Refused
from launchroom import catalog, demo
from launchroom.models import Comment, LaunchStage, MembershipRole, Notification, NotificationKind, OrderForm, Tenant
from launchroom.orderforms.services import (
    order_form_buyer_approve,
    order_form_request_changes,
    order_form_revise,
    order_form_send,
    order_form_sign,
)
from tests.confirming import token_of
from tests.launch_helpers import member

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tenant(staff):
    tenant = Tenant.objects.create(slug="acme", name="Acme Health", commercial_owner=staff["commercial"])
    demo.ensure_buyer(tenant, "buyer-acme", name=("Ada", "Acme"))
    return tenant


@pytest.fixture
def draft(staff, tenant):
    return demo.scoped_order_form(tenant, staff, requested_stage=LaunchStage.PAID_BETA, sign=False)


def sponsor():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username="buyer-acme")


def test_it_sends_a_draft_and_tells_the_buyer_sponsor_on_commit(
    staff, tenant, draft, django_capture_on_commit_callbacks
):
    member(tenant, "viewer-acme")
    member(tenant, "finance-acme", role=MembershipRole.BUYER_FINANCE)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):  # the worker delivers after commit
        sent = order_form_send(order_form=draft, by=staff["commercial"])
    assert (sent.status, sent.sent_by) == ("sent", staff["commercial"])
    assert sent.sent_at is not None
    told = Notification.objects.filter(kind=NotificationKind.ORDER_FORM_SENT)
    assert [n.recipient.username for n in told] == ["buyer-acme"], "the buyer sponsor only"
    assert told[0].subject == "Acme Health: order form v1 is ready for your review"
    assert told[0].body == (
        "Thesmios sent you version 1 of the order form. Review the scope, then approve it "
        "or ask for changes in your launch room."
    )
    assert told[0].link == "/launch-room/acme/order-form/"
    assert told[0].delivery == "immediate", "it asks for the buyer's action: e-mailed at once"
    [message] = [m for m in mail.outbox if m.subject == told[0].subject]
    assert message.to == [sponsor().email]
    assert "version 1 of the order form" in message.body
    assert "/launch-room/acme/order-form/" in message.body


def test_it_refuses_to_send_a_version_missing_a_standing_exclusion_naming_it(staff, draft):
    missing = catalog.STANDING_EXCLUSIONS[1]
    draft = order_form_revise(
        order_form=draft,
        by=staff["commercial"],
        excluded_claims="\n".join(c for c in catalog.STANDING_EXCLUSIONS if c != missing),
    )
    with pytest.raises(Refused) as refused:
        order_form_send(order_form=draft, by=staff["commercial"])
    assert refused.value.reasons == [f'v1 cannot be sent: it does not list the standing exclusion "{missing}".']
    draft.refresh_from_db()
    assert draft.status == "draft"
    assert not mail.outbox


def test_it_refuses_to_sign_a_version_missing_standing_exclusions_naming_each(staff, draft):
    draft = order_form_revise(order_form=draft, by=staff["commercial"], excluded_claims="Only a custom exclusion")
    with pytest.raises(Refused) as refused:
        order_form_sign(order_form=draft, approval_reference="PO-1", signer_name="Pat", by=staff["commercial"])
    assert len(refused.value.reasons) == 4
    for claim in catalog.STANDING_EXCLUSIONS:
        assert any(claim in reason for reason in refused.value.reasons)
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_it_lets_only_the_commercial_owner_send(staff, draft):
    with pytest.raises(NotPermitted):
        order_form_send(order_form=draft, by=staff["finance"])
    with pytest.raises(NotPermitted):
        order_form_send(order_form=draft, by=sponsor())


def test_it_refuses_to_send_twice_or_without_a_buyer_sponsor(staff, tenant, draft):
    order_form_send(order_form=draft, by=staff["commercial"])
    with pytest.raises(Refused, match="only a draft is sent"):
        order_form_send(order_form=draft, by=staff["commercial"])
    lonely = Tenant.objects.create(slug="lonely", name="Lonely Ltd")
    lonely_draft = demo.scoped_order_form(lonely, staff, requested_stage=LaunchStage.PAID_BETA, sign=False)
    with pytest.raises(Refused, match="no buyer sponsor"):
        order_form_send(order_form=lonely_draft, by=staff["commercial"])


def test_the_buyer_approval_becomes_the_written_reference_for_the_signature(staff, draft):
    order_form_send(order_form=draft, by=staff["commercial"])
    mail.outbox.clear()
    approved = order_form_buyer_approve(order_form=draft, by=sponsor(), name="Ada Acme", role="Head of HR")
    assert approved.status == "approved"
    assert approved.buyer_approval_reference.startswith("Approved in the launch room by Ada Acme, Head of HR, ")
    told = Notification.objects.get(kind=NotificationKind.ORDER_FORM_REVIEWED)
    assert told.recipient == staff["commercial"] and "approved order form v1" in told.subject
    signed = order_form_sign(
        order_form=approved,
        approval_reference=approved.buyer_approval_reference,
        signer_name=approved.buyer_approver_name,
        by=staff["commercial"],
    )
    assert signed.is_signed
    assert signed.approval_reference == approved.buyer_approval_reference


def test_only_the_buyer_sponsor_approves_or_requests_changes(staff, tenant, draft):
    order_form_send(order_form=draft, by=staff["commercial"])
    finance = member(tenant, "finance-acme", MembershipRole.BUYER_FINANCE)
    for user in (finance, staff["commercial"], staff["operator"]):
        with pytest.raises(NotPermitted):
            order_form_buyer_approve(order_form=draft, by=user, name="X", role="Y")
        with pytest.raises(NotPermitted):
            order_form_request_changes(order_form=draft, by=user, comment="Change it")
    draft.refresh_from_db()
    assert draft.status == "sent"


def test_it_refuses_to_approve_a_version_that_was_not_sent(staff, draft):
    with pytest.raises(Refused, match="nothing to approve"):
        order_form_buyer_approve(order_form=draft, by=sponsor(), name="Ada Acme", role="Head of HR")
    with pytest.raises(ValidationError) as invalid:
        order_form_buyer_approve(order_form=draft, by=sponsor(), name=" ", role="")
    assert set(invalid.value.message_dict) == {"name", "role"}


def test_requesting_changes_keeps_the_comment_and_blocks_signing_until_sent_again(staff, draft):
    order_form_send(order_form=draft, by=staff["commercial"])
    with pytest.raises(ValidationError):
        order_form_request_changes(order_form=draft, by=sponsor(), comment="  ")
    back = order_form_request_changes(order_form=draft, by=sponsor(), comment="Add the Leeds site to the cohort.")
    assert back.status == "changes_requested"
    comment = Comment.objects.get()
    assert (comment.order_form, comment.body, comment.author) == (back, "Add the Leeds site to the cohort.", sponsor())
    with pytest.raises(Refused, match="requested changes"):
        order_form_sign(order_form=back, approval_reference="PO-1", signer_name="Pat", by=staff["commercial"])
    revised = order_form_revise(order_form=back, by=staff["commercial"], cohort_description="Two regions and Leeds")
    assert revised.status == "draft"
    assert order_form_send(order_form=revised, by=staff["commercial"]).status == "sent"


def test_editing_an_approved_version_sends_it_back_to_draft(staff, draft):
    order_form_send(order_form=draft, by=staff["commercial"])
    order_form_buyer_approve(order_form=draft, by=sponsor(), name="Ada Acme", role="Head of HR")
    edited = order_form_revise(order_form=draft, by=staff["commercial"], cohort_size=999)
    assert edited.status == "draft"
    assert edited.buyer_approval_reference == ""


# The buyer's page ------------------------------------------------------------------------


def test_the_order_form_page_answers_404_to_non_members(client, staff, tenant, draft):
    other = Tenant.objects.create(slug="rival", name="Rival")
    client.force_login(demo.ensure_buyer(other, "buyer-rival"))
    url = reverse("launchroom:order_form", args=[tenant.slug])
    assert client.get(url).status_code == 404
    approve = reverse("launchroom:order_form_approve", args=[tenant.slug])
    assert client.post(approve, {"name": "X", "role": "Y"}).status_code == 404


def test_the_buyer_approves_in_the_launch_room(client, staff, tenant, draft):
    order_form_send(order_form=draft, by=staff["commercial"])
    client.force_login(sponsor())
    url = reverse("launchroom:order_form", args=[tenant.slug])
    page = client.get(url)
    assert page.status_code == 200
    assert "Approve the order form" in page.content.decode()
    response = client.post(
        reverse("launchroom:order_form_approve", args=[tenant.slug]),
        {"name": "Ada Acme", "role": "Head of HR"},
        follow=True,
    )
    assert "You approved order form version 1" in response.content.decode()
    assert OrderForm.objects.get().status == "approved"


def test_a_viewer_may_not_approve_and_a_bad_form_saves_nothing(client, staff, tenant, draft):
    order_form_send(order_form=draft, by=staff["commercial"])
    client.force_login(member(tenant, "viewer-acme"))
    approve = reverse("launchroom:order_form_approve", args=[tenant.slug])
    assert client.post(approve, {"name": "Vic", "role": "Viewer"}).status_code == 403
    client.force_login(sponsor())
    response = client.post(approve, {"name": "", "role": ""})
    assert response.status_code == 400
    assert "Check the form" in response.content.decode()
    changes = reverse("launchroom:order_form_changes", args=[tenant.slug])
    assert client.post(changes, {"comment": ""}).status_code == 400
    assert OrderForm.objects.get().status == "sent"
    assert not Comment.objects.exists()


def test_who_may_answer_is_decided_before_what_is_missing(client, staff, tenant, draft):
    """The service's rule, once: a viewer is refused (403) even with an empty form, on both
    answers; an over-long value is the form's own 400; nothing is saved."""
    order_form_send(order_form=draft, by=staff["commercial"])
    client.force_login(member(tenant, "viewer-acme"))
    approve = reverse("launchroom:order_form_approve", args=[tenant.slug])
    changes = reverse("launchroom:order_form_changes", args=[tenant.slug])
    assert client.post(approve, {"name": "", "role": ""}).status_code == 403
    assert client.post(changes, {"comment": ""}).status_code == 403
    assert client.post(changes, {"comment": "Add Leeds."}).status_code == 403
    client.force_login(sponsor())
    response = client.post(approve, {"name": "A" * 201, "role": "Head of HR"})
    assert response.status_code == 400
    assert "Ensure this value has at most 200 characters" in response.content.decode()
    assert OrderForm.objects.get().status == "sent"
    assert not Comment.objects.exists()


def test_a_refusal_on_the_page_is_listed_and_nothing_is_saved(client, staff, tenant, draft):
    client.force_login(sponsor())
    response = client.post(
        reverse("launchroom:order_form_approve", args=[tenant.slug]), {"name": "Ada Acme", "role": "Head of HR"}
    )
    assert response.status_code == 409
    assert "there is nothing to approve" in response.content.decode()
    assert OrderForm.objects.get().status == "draft"


def test_the_buyer_requests_changes_in_the_launch_room(client, staff, tenant, draft):
    order_form_send(order_form=draft, by=staff["commercial"])
    client.force_login(sponsor())
    response = client.post(
        reverse("launchroom:order_form_changes", args=[tenant.slug]), {"comment": "Add Leeds."}, follow=True
    )
    assert "You asked for changes to order form version 1" in response.content.decode()
    assert OrderForm.objects.get().status == "changes_requested"
    assert Comment.objects.get().body == "Add Leeds."


def test_the_page_shows_what_changed_since_the_version_before(client, staff, tenant):
    v1 = demo.scoped_order_form(tenant, staff, requested_stage=LaunchStage.PAID_BETA)
    order_form_revise(
        order_form=v1,
        by=staff["commercial"],
        compliance_modules="Right-to-work verification\nDriving licence checks",
    )
    client.force_login(sponsor())
    body = client.get(reverse("launchroom:order_form", args=[tenant.slug])).content.decode()
    assert "What changed since version 1" in body
    assert "Driving licence checks" in body
    assert "Professional licence checks" in body  # removed, shown struck through


# The admin -------------------------------------------------------------------------------


def test_the_commercial_owner_sends_and_signs_from_the_order_form_page(client, staff, tenant, draft):
    client.force_login(staff["commercial"])
    change = reverse("admin:launchroom_orderform_change", args=[draft.pk])
    page = client.get(change).content.decode()
    assert "Send to buyer" in page
    assert "Record the signature" in page
    response = client.post(reverse("admin:launchroom_orderform_send", args=[draft.pk]), follow=True)
    assert "Sent v1 of the Acme Health order form to the buyer" in response.content.decode()
    order_form_buyer_approve(order_form=draft, by=sponsor(), name="Ada Acme", role="Head of HR")
    sign_url = reverse("admin:launchroom_orderform_sign", args=[draft.pk])
    form_page = client.get(sign_url).content.decode()
    assert "Approved in the launch room by Ada Acme, Head of HR" in form_page  # pre-filled
    draft.refresh_from_db()
    response = client.post(
        sign_url,
        {"approval_reference": draft.buyer_approval_reference, "signer_name": "Ada Acme", "apply": "1"},
    )
    assert "Recording this signature will" in response.content.decode()  # moves gate 3: confirmed first
    assert not OrderForm.objects.get().is_signed
    signature = {"approval_reference": draft.buyer_approval_reference, "signer_name": "Ada Acme", "apply": "1"}
    response = client.post(sign_url, {**signature, **token_of(response), "confirm": "1"}, follow=True)
    assert "Recorded the signature of v1 of the Acme Health order form" in response.content.decode()
    assert OrderForm.objects.get().is_signed


def test_the_admin_lists_a_send_refusal_naming_the_missing_exclusions(client, staff, draft):
    order_form_revise(order_form=draft, by=staff["commercial"], excluded_claims="Just one")
    client.force_login(staff["commercial"])
    body = client.get(reverse("admin:launchroom_orderform_change", args=[draft.pk])).content.decode()
    assert "can be neither sent nor signed" in body
    response = client.post(reverse("admin:launchroom_orderform_send", args=[draft.pk]), follow=True)
    body = response.content.decode()
    assert '<ul class="refusal-reasons">' in body
    assert catalog.STANDING_EXCLUSIONS[0] in body
    assert OrderForm.objects.get().status == "draft"
    sign = client.post(
        reverse("admin:launchroom_orderform_sign", args=[draft.pk]),
        {"approval_reference": "PO-1", "signer_name": "Pat", "apply": "1"},
    )
    assert sign.status_code == 200
    assert "Refused; nothing was saved" in sign.content.decode()
    assert not OrderForm.objects.get().is_signed


def test_the_admin_shows_the_diff_against_the_version_before(client, staff, tenant):
    v1 = demo.scoped_order_form(tenant, staff, requested_stage=LaunchStage.PAID_BETA)
    v2 = order_form_revise(order_form=v1, by=staff["commercial"], cohort_size=450)
    client.force_login(staff["commercial"])
    body = client.get(reverse("admin:launchroom_orderform_change", args=[v2.pk])).content.decode()
    assert "what changed since the version before" in body.lower()
    assert "450" in body and "120" in body
