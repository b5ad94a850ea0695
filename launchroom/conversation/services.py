"""The launch conversation: comments by buyers and staff on a gate or an order-form version."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet

from core import hooks
from core.errors import NotPermitted
from core.types import User
from core.validation import text_problem
from launchroom import catalog
from launchroom.catalog import Role
from launchroom.models import Comment, NotificationKind, OrderForm, Tenant
from launchroom.notifications.services import anyone_of, link_to, notify, staff_in_role, tenant_members, user_with_pk
from launchroom.tenants.access import COMMENTING_ROLES, member_role
from launchroom.tenants.locking import lock_tenant

BODY_MAX = 5000


@hooks.changes_launch_room
def comment_add(
    *, tenant: Tenant, author: User, body: str, gate_key: str = "", order_form: OrderForm | None = None
) -> Comment:
    """Add a comment to the tenant's conversation about one gate or one order-form version,
    and tell the other side (staff when a buyer writes, the buyers when staff write)."""
    body = (body or "").strip()
    errors: dict[str, str] = {}
    if not body:
        errors["body"] = "Write a comment."
    elif problem := text_problem(body, max_length=BODY_MAX, multiline=True):
        errors["body"] = problem
    if bool(gate_key) == (order_form is not None):
        errors["subject"] = "Choose one gate or one order-form version to comment on."
    elif gate_key and gate_key not in catalog.GATES_BY_KEY:
        errors["subject"] = "There is no such gate."
    elif order_form is not None and order_form.tenant_id != tenant.pk:
        errors["subject"] = "That order form belongs to another tenant."
    if errors:
        raise ValidationError(errors)
    is_staff = bool(getattr(author, "is_staff", False))
    if not is_staff and member_role(author, tenant) not in COMMENTING_ROLES:
        raise NotPermitted("Only the buyer sponsor, buyer finance and Thesmios staff write in the conversation.")
    with transaction.atomic():
        lock_tenant(tenant)
        comment = Comment(tenant=tenant, author=author, body=body, gate_key=gate_key, order_form=order_form)
        comment.full_clean()
        comment.save()
        hooks.decision_recorded(comment)  # chained into the tenant's decision log
        hooks.room_may_change(tenant_id=tenant.pk)
        _tell_other_side(comment, from_staff=is_staff)
        return comment


def _tell_other_side(comment: Comment, *, from_staff: bool) -> None:
    """Tell the other side in their inbox (and by e-mail as they prefer), once per comment."""
    tenant = comment.tenant
    recipients = tenant_members(tenant, *COMMENTING_ROLES) if from_staff else _staff_for(comment)
    who = comment.author.get_full_name() or comment.author.get_username()
    notify(
        recipients=recipients,
        kind=NotificationKind.COMMENT,
        tenant=tenant,
        event_key=f"comment:{comment.pk}",
        subject=f"{tenant}: {who} commented on {comment.subject}",
        body=f"{who} wrote about {comment.subject}: {comment.body}",
        link=link_to(tenant, room="#conversation"),
    )


def _staff_for(comment: Comment) -> QuerySet[Any]:
    """The tenant's commercial owner and, for a gate, the staff of the role that decides it."""
    people = [user_with_pk(comment.tenant.commercial_owner_id)]
    gate = catalog.GATES_BY_KEY.get(comment.gate_key)
    if gate is not None and gate.decided_by is not None:
        people.append(staff_in_role(gate.decided_by))
    if comment.gate_key == "billing-route":  # billing is the finance owner's
        people.append(staff_in_role(Role.FINANCE))
    return anyone_of(*people)
