"""Shared steps for the launch-room tests: demo tenants, their buyers and a signing form.

Building a demo tenant takes a while (evidence files, decisions, signatures). A module whose
tests keep rebuilding the same tenants builds them once instead, with ``prebuild``::

    _demo_tenants = prebuild("northwind", "contoso")

Each test runs in pytest-django's per-test transaction, rolled back after it, so whatever a
test changes is undone before the next, as before; ``build`` then returns the module's tenant
instead of building it again. Not for modules with transactional tests.

On the in-memory SQLite test database (``make test``) the tenants are built and committed,
the database is copied, and after the module the ready database is put back
(``tests.migrated_once``). Another module of the same worker asking for the same tenants gets
the copy back instead of building them again: five modules ask for globex alone, five for all
four. Elsewhere (PostgreSQL) they are built in a transaction that stays open for the module
and is rolled back after it.

On that database ``build`` itself is recorded once per worker and written back after that
(``tests.build_replay``): a build on a database it has run on before (the empty one plus the
staff, or a module's prebuilt tenants) takes milliseconds instead of half a second.
"""

from __future__ import annotations

import sqlite3
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
from tests import build_replay, migrated_once

User = get_user_model()
FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# slug -> pk of the tenants the running module built once (see ``prebuild``).
_PREBUILT: dict[str, int] = {}
# The tenants asked for -> the database once they were built, and their pks (this worker's).
_COPIES: dict[tuple[str, ...], tuple[sqlite3.Connection, dict[str, int]]] = {}


def build(slug: str, staff: dict[str, Any]) -> Tenant:
    """One demo tenant in its SPEC section 8 state, with its buyer ``buyer-<slug>``."""
    if slug in _PREBUILT:
        return Tenant.objects.get(pk=_PREBUILT[slug])
    pk = build_replay.build(slug, lambda: demo.BUILDERS[slug](staff).pk)
    return Tenant.objects.get(pk=pk)


def prebuild(*slugs: str) -> Callable[..., Iterator[None]]:
    """A module-scoped, autouse fixture that builds the demo tenants ``slugs`` once for the module.

    They are built in one order whatever order they are named in (the order of
    ``demo.BUILDERS``), so modules naming the same tenants share one copy."""
    ordered = tuple(slug for slug in demo.BUILDERS if slug in slugs)
    if len(ordered) != len(set(slugs)):
        raise ValueError(f"Unknown demo tenants: {sorted(set(slugs) - set(ordered))}")

    def build_them() -> None:
        staff = demo.ensure_staff()
        _PREBUILT.update({slug: build(slug, staff).pk for slug in ordered})

    return module_state(build_them, copy_as=ordered)


def module_state(set_up: Callable[[], object], copy_as: tuple[str, ...] = ()) -> Callable[..., Iterator[None]]:
    """A module-scoped, autouse fixture that runs ``set_up`` once for the module, in a
    transaction every test of the module runs inside and that is rolled back after it.

    With ``copy_as`` (the tenants ``set_up`` builds), on the in-memory SQLite database: see
    the module's docstring."""

    @pytest.fixture(scope="module", autouse=True)
    def _module_state(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
        # As the function-scoped _fast_hashing fixture does: fast hashes, and static files
        # without a manifest (the in-process operator proof renders real pages).
        storages = {
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
        with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHER, STORAGES=storages):
            if copy_as and migrated_once.can_copy():
                yield from _built_once_per_worker(copy_as, set_up)
                return
            atomic = transaction.atomic()
            atomic.__enter__()
            try:
                set_up()
                yield
            finally:
                _PREBUILT.clear()
                transaction.set_rollback(True)
                atomic.__exit__(None, None, None)

    return _module_state


def _built_once_per_worker(slugs: tuple[str, ...], set_up: Callable[[], object]) -> Iterator[None]:
    try:
        if slugs in _COPIES:
            copy, pks = _COPIES[slugs]
            migrated_once.restore(copy)
            _PREBUILT.update(pks)
        else:
            set_up()
            _COPIES[slugs] = (migrated_once.copy_database(), dict(_PREBUILT))
        yield
    finally:
        _PREBUILT.clear()
        if not migrated_once.restore_ready():  # the next module would find these tenants
            raise RuntimeError("The prebuilt tenants could not be removed: a transaction is still open.")


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
