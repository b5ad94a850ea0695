"""Shared steps for the launch-room tests: demo tenants, their buyers and a signing form.

The tests of the demo itself, the commands and the browser journeys build whole demo tenants
(``build``); other tests build only what they need with ``tests.factories``. A module whose
tests all use the same demo tenants may build them once instead, with ``prebuild``::

    _demo_tenants = prebuild("northwind", "contoso")

Each test still runs in pytest-django's per-test transaction, rolled back after it, so
whatever a test changes is undone before the next; ``build`` then returns the module's tenant
instead of building it again. Not for modules with transactional tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test.utils import override_settings

from launchroom import demo
from launchroom.acceptance.services import AFFIRMATION
from launchroom.models import MembershipRole, Tenant
from launchroom.readiness.evaluation import evaluate

User = get_user_model()
FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# slug -> pk of the tenants the running module built once (see ``prebuild``).
_PREBUILT: dict[str, int] = {}


def build(slug: str, staff: dict[str, Any]) -> Tenant:
    """One demo tenant in its docs/RULES.md section 9 state, with its buyer ``buyer-<slug>``."""
    if slug in _PREBUILT:
        return Tenant.objects.get(pk=_PREBUILT[slug])
    return demo.BUILDERS[slug](staff)


def prebuild(*slugs: str) -> Callable[..., Iterator[None]]:
    """A module-scoped, autouse fixture that builds the demo tenants ``slugs`` once for the module."""
    unknown = set(slugs) - set(demo.BUILDERS)
    if unknown:
        raise ValueError(f"Unknown demo tenants: {sorted(unknown)}")

    def build_them() -> None:
        staff = demo.ensure_staff()
        _PREBUILT.update({slug: build(slug, staff).pk for slug in slugs})

    return module_state(build_them)


def module_state(set_up: Callable[[], object]) -> Callable[..., Iterator[None]]:
    """A module-scoped, autouse fixture that runs ``set_up`` once for the module, in a
    transaction every test of the module runs inside and that is rolled back after it
    (pytest-django's ``django_db_blocker``; the same on SQLite and PostgreSQL)."""

    @pytest.fixture(scope="module", autouse=True)
    def _module_state(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
        # As the function-scoped _fast_hashing fixture does: fast hashes, and static files
        # without a manifest (the in-process operator proof renders real pages).
        storages = {
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
        with (
            django_db_blocker.unblock(),
            override_settings(PASSWORD_HASHERS=FAST_HASHER, STORAGES=storages),
            transaction.atomic(),
        ):
            try:
                set_up()
                yield
            finally:
                _PREBUILT.clear()
                transaction.set_rollback(True)

    return _module_state


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


def stale_proof_plan(staff: dict[str, Any]) -> Any:
    """A tenant whose production-proof smoke is stale: replacing it moves gate 2, so the
    admin answers the confirmation page first."""
    from datetime import timedelta

    from django.utils import timezone

    from evidence.services import evidence_attach
    from launchroom import demo

    tenant = demo.new_tenant("acme", "Acme Health", staff)
    for key, days in (("production-proof-json", 0), ("production-proof-smoke", 90)):
        evidence_attach(
            tenant=tenant,
            gate_key="strict-proof-plan",
            requirement_key=key,
            by=staff["security"],
            output=f"{key} output",
            captured_at=timezone.now() - timedelta(days=days),
        )
    return tenant


def like_demo(slug: str) -> Tenant:
    """A tenant made with ``tests.factories`` in the state of the demo tenant ``slug``
    (docs/RULES.md section 9), with its slug and its buyer sponsor ``buyer-<slug>``; a few
    rows, not the demo's build (every service and the operator proof):

    - northwind: a draft order form for the private beta and gate 1's evidence, undecided: hold;
    - contoso: a regulated buyer and its finance member, every gate met for the paid beta but the buyer's acceptance,
      and two comments on the billing route;
    - globex: every gate met, signed for the paid beta and moved into it: go;
    - initech: nothing configured, no billing profile, signed for the private beta and moved into it.

    The buyer sponsor has the demo's name (pages are checked for other tenants' names), and the
    tenant its stored readiness row.
    """
    from launchroom.catalog import Role
    from launchroom.conversation.services import comment_add
    from launchroom.models import LaunchStage
    from launchroom.readiness import projection
    from tests import factories

    if slug not in demo.BUYER_NAMES:
        raise ValueError(f"Unknown demo tenant: {slug}")
    # The sponsor first, so that the factories find them (by username) and sign in their name.
    first_name, last_name = demo.BUYER_NAMES[slug]
    factories.UserFactory.create(username=f"buyer-{slug}", first_name=first_name, last_name=last_name)
    name = {"northwind": "Northwind Traders", "contoso": "Contoso Health", "globex": "Globex Corporation"}.get(slug, "")
    if slug == "northwind":
        tenant = factories.draft_tenant(slug, name=name)
        factories.attach_gate(tenant, "public-deployment")
    elif slug == "contoso":
        configured = [flag for flag in factories.CONFIG_FLAGS if flag != "controlled_send_configured"]
        tenant = factories.ready_tenant(slug, name=name, regulated=True, configured=configured)
        for username, role, (first_name, last_name) in demo.EXTRA_BUYERS[slug]:
            factories.UserFactory.create(username=username, first_name=first_name, last_name=last_name)
            factories.member(tenant, role, username)
        # The demo's conversation about the billing route: the buyer asks, the finance owner answers.
        comment_add(tenant=tenant, author=buyer(slug), gate_key="billing-route", body="Can the invoice carry CC-4410?")
        comment_add(
            tenant=tenant,
            author=factories.staff_user(Role.FINANCE),
            gate_key="billing-route",
            body="Yes: every invoice will carry cost centre CC-4410.",
        )
    elif slug == "globex":
        tenant = factories.ready_tenant(slug, name=name, sign_for=LaunchStage.PAID_BETA, live=True)
    else:
        tenant = factories.ready_tenant(
            slug, configured=(), without=("billing",), sign_for=LaunchStage.PRIVATE_BETA, live=True
        )
    # The stored readiness row the services keep (the portfolio and the notices read it), as
    # refresh_readiness writes it for a tenant that has none yet.
    projection.refresh()
    return tenant
