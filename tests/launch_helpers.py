"""Shared steps for the launch-room tests: demo tenants, their buyers and a signing form."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from launchroom import demo
from launchroom.acceptance.services import AFFIRMATION
from launchroom.gates.readiness import evaluate
from launchroom.models import MembershipRole, Tenant

User = get_user_model()


def build(slug: str, staff: dict[str, Any]) -> Tenant:
    """One demo tenant in its SPEC section 8 state, with its buyer ``buyer-<slug>``."""
    tenant = demo.BUILDERS[slug](staff)
    tenant.refresh_from_db()
    return tenant


def buyer(slug: str) -> Any:
    return User.objects.get(username=f"buyer-{slug}")


def member(tenant: Tenant, username: str, role: str = MembershipRole.VIEWER) -> Any:
    return demo.ensure_buyer(tenant, username, role=role, name=("Vic", "Viewer"))


def sign_form(tenant: Tenant, decision: str = "accepted", **overrides: Any) -> dict[str, Any]:
    """The POST data of the acceptance form as the room prefills it, with a decision."""
    readiness = evaluate(tenant)
    order_form = readiness.data.signed_order_form
    data = {
        "stage": readiness.stage,
        "snapshot_sha256": readiness.acceptance_snapshot_sha256(),
        "decision": decision,
        "signer_name": "Carlos Conti",
        "signer_role": "Head of compliance operations",
        "approval_reference": order_form.approval_reference if order_form else "",
        "exclusions": "\n".join(readiness.do_not_claim),
        "residual_risks": "Support communication stays manual during the beta",
        "note": "",
        "affirmation": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def api_body(tenant: Tenant, decision: str = "accepted", **overrides: Any) -> dict[str, Any]:
    """A PATCH body for /api/platform/launch-acceptance as a client would send it."""
    readiness = evaluate(tenant)
    body = {
        "tenant": tenant.slug,
        "stage": readiness.stage,
        "decision": decision,
        "signer_name": "Carlos Conti",
        "signer_role": "Head of compliance operations",
        "exclusions": list(readiness.do_not_claim),
        "residual_risks": ["Support communication stays manual during the beta"],
        "affirmation": AFFIRMATION,
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}
