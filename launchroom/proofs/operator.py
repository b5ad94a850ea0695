"""The operator launch proof: fixture users, the access checks as each of them, over HTTP.

``operator_launch_proof`` (the command) and ``seed_demo`` (through ``launchroom.demo``) both
run these checks: the command against a running portal with ``requests``, the demo in
process through ``launchroom.proofs.inprocess.ClientSession``. The orchestration (guards,
signing, attaching) is in ``launchroom.proofs.operator_run``.

Two plans:

- the fixture run (no tenant): the fixture tenant ``launch-proof-fixture`` and a second
  tenant ``launch-proof-other``; owner and granted employer are members of the fixture,
  the denied employer of the other tenant only;
- the tenant run (``--tenant SLUG``): owner (buyer sponsor) and granted employer (viewer)
  are members of that customer tenant; the denied outsider is a member of no tenant.

Passwords are random for each run, never printed or written, and the accounts are
disabled (unusable password, inactive) when the run ends.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from core.errors import Refused
from evidence.models import EvidenceAttachment
from launchroom.models import MembershipRole, Tenant, TenantMembership
from launchroom.proofs.smoke import SKIPPED, CheckFailed, CheckResult, SmokeRun, expect_json, expect_status
from launchroom.tenants.services import membership_add

COMMAND = "operator_launch_proof"
FIXTURE_SLUG = "launch-proof-fixture"
OTHER_SLUG = "launch-proof-other"
LOGIN_PATH = "accounts/login/"

_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")
_DROP = re.compile(r"<(script|style)\b.*?</\1>", re.S | re.I)


@dataclass(frozen=True)
class FixtureUser:
    key: str
    username: str
    tenant_slug: str | None  # None: an outsider, member of no tenant
    role: str


@dataclass(frozen=True)
class ProofPlan:
    """Which tenant the proof is for, and its three fixture users."""

    target_slug: str
    other_slug: str | None  # the fixture run's second tenant; None for a customer tenant
    users: tuple[FixtureUser, ...]

    @property
    def for_customer(self) -> bool:
        return self.other_slug is None


FIXTURE_PLAN = ProofPlan(
    FIXTURE_SLUG,
    OTHER_SLUG,
    (
        FixtureUser("owner", "launch-proof-owner", FIXTURE_SLUG, MembershipRole.BUYER_SPONSOR),
        FixtureUser("granted", "launch-proof-granted", FIXTURE_SLUG, MembershipRole.VIEWER),
        FixtureUser("denied", "launch-proof-denied", OTHER_SLUG, MembershipRole.BUYER_SPONSOR),
    ),
)


def tenant_plan(slug: str) -> ProofPlan:
    """The plan for a customer tenant: its own fixture users, and an outsider."""
    base = f"launch-proof-{slug}"
    return ProofPlan(
        slug,
        None,
        (
            FixtureUser("owner", f"{base}-owner", slug, MembershipRole.BUYER_SPONSOR),
            FixtureUser("granted", f"{base}-granted", slug, MembershipRole.VIEWER),
            FixtureUser("denied", f"{base}-denied", None, MembershipRole.VIEWER),
        ),
    )


@dataclass
class Seeded:
    plan: ProofPlan
    tenant: Tenant
    users: dict[str, Any]
    passwords: dict[str, str]
    created: list[str]


def seed_fixture(plan: ProofPlan) -> Seeded:
    """Create or reset the plan's users (idempotent), with fresh random passwords.

    The fixture run creates its two tenants; a customer tenant must exist already.
    """
    User = get_user_model()
    created: list[str] = []
    with transaction.atomic():
        tenants: dict[str, Tenant] = {}
        if plan.for_customer:
            tenants[plan.target_slug] = Tenant.objects.get(slug=plan.target_slug)
        else:
            assert plan.other_slug is not None
            for slug, name in (
                (plan.target_slug, "Launch proof fixture"),
                (plan.other_slug, "Launch proof fixture (other)"),
            ):
                tenant, made = Tenant.objects.get_or_create(slug=slug, defaults={"name": name})
                tenants[slug] = tenant
                if made:
                    created.append(f"tenant {slug}")
        users: dict[str, Any] = {}
        passwords: dict[str, str] = {}
        for fixture in plan.users:
            user, made = User.objects.get_or_create(
                username=fixture.username,
                defaults={"email": f"{fixture.username}@launch-proof.invalid", "first_name": "Launch proof"},
            )
            if made:
                created.append(f"user {fixture.username}")
            if user.is_staff or user.is_superuser:
                raise Refused(
                    f"user {fixture.username} exists and is staff: the proof's users must be customer accounts"
                )
            passwords[fixture.key] = secrets.token_urlsafe(24)
            user.is_active = True
            user.set_password(passwords[fixture.key])
            user.save()
            home = tenants.get(fixture.tenant_slug) if fixture.tenant_slug else None
            # Exactly the one membership the plan names: the denied user must not be a member.
            for stray in TenantMembership.objects.filter(user=user).exclude(tenant=home):
                stray.delete()
            if home is not None:
                existing = TenantMembership.objects.filter(user=user, tenant=home).first()
                if existing is not None and existing.role != fixture.role:
                    existing.delete()
                    existing = None
                if existing is None:
                    # The command is the actor; its guards (confirmation variables) were checked above.
                    membership_add(tenant=home, user=user, role=fixture.role, by=None, checked=True)
            users[fixture.key] = user
    _reset_lockouts(plan)
    return Seeded(plan, tenants[plan.target_slug], users, passwords, created)


def _reset_lockouts(plan: ProofPlan) -> None:
    # A failed earlier run must not lock this one out of its own fixture users.
    from axes.utils import reset

    for fixture in plan.users:
        reset(username=fixture.username)


def retire_credentials(seeded: Seeded) -> None:
    """Disable the run's accounts: no credential outlives the proof."""
    for user in seeded.users.values():
        user.set_unusable_password()
        user.is_active = False
        user.save(update_fields=["password", "is_active"])


def page_text(markup: str) -> str:
    """The visible words of a page, for the snapshot (no markup is stored)."""
    return _SPACE.sub(" ", _TAG.sub(" ", _DROP.sub(" ", markup))).strip()


def skip(run: SmokeRun, name: str, detail: str) -> None:
    result = CheckResult(name, SKIPPED, detail)
    run.results.append(result)
    if run.out is not None:
        run.out.write(f"{SKIPPED.upper():<7} {name}: {detail}\n")


@dataclass
class Proof:
    """The checks of one run, each user in their own HTTP session."""

    run: SmokeRun
    seeded: Seeded
    new_session: Callable[[], Any]
    sessions: dict[str, Any] = field(default_factory=dict)
    logged_in: set[str] = field(default_factory=set)
    snapshot: dict[str, Any] = field(default_factory=dict)
    snapshot_text: str = ""

    def __post_init__(self) -> None:
        self.sessions = {key: self.new_session() for key in (*self.seeded.users, "anonymous")}

    def as_user(self, key: str) -> SmokeRun:
        self.run.session = self.sessions[key]
        return self.run

    def _need_login(self, key: str) -> None:
        if key not in self.logged_in:
            raise CheckFailed(f"{self.seeded.users[key].username} is not logged in")

    def login(self, key: str) -> str:
        run = self.as_user(key)
        username = self.seeded.users[key].username
        page = run.get(LOGIN_PATH)
        expect_status(page, 200)
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        if match is None:
            raise CheckFailed("the login page has no CSRF token")
        response = run.request(
            "POST",
            LOGIN_PATH,
            data={"username": username, "password": self.seeded.passwords[key], "csrfmiddlewaretoken": match[1]},
            headers={"Referer": run.url(LOGIN_PATH)},
        )
        if response.status_code == 403:
            hint = " (the portal's cookies are Secure but the URL is plain HTTP)" if not run.is_https else ""
            raise CheckFailed(f"the login was refused by CSRF protection{hint}")
        if response.status_code != 302:
            raise CheckFailed(
                f"{username} could not log in (answered {response.status_code}): wrong portal or locked out"
            )
        if not any(cookie.name == settings.SESSION_COOKIE_NAME for cookie in run.session.cookies):
            hint = "; the session cookie is Secure but the URL is plain HTTP" if not run.is_https else ""
            raise CheckFailed(f"{username} got no session cookie{hint}")
        self.logged_in.add(key)
        return f"{username} logged in"

    def room(self, key: str, slug: str, expected: int) -> str:
        self._need_login(key)
        response = self.as_user(key).get(f"launch-room/{slug}/")
        expect_status(response, expected)
        if expected == 200 and key == "owner" and slug == self.seeded.plan.target_slug:
            title = re.search(r"<title>(.*?)</title>", response.text, re.S)
            self.snapshot = {
                "path": f"/launch-room/{slug}/",
                "user": self.seeded.users[key].username,
                "status": response.status_code,
                "title": title[1].strip() if title else "",
                "bytes": len(response.content),
                "sha256": hashlib.sha256(response.content).hexdigest(),
            }
            self.snapshot_text = page_text(response.text)
        return f"/launch-room/{slug}/ answered {response.status_code}"

    def not_listed(self, key: str, slug: str) -> str:
        self._need_login(key)
        response = self.as_user(key).get("launch-room/")
        expect_status(response, 200)
        if f"/launch-room/{slug}/" in response.text:
            raise CheckFailed(f"/launch-room/ links to {slug}")
        return f"/launch-room/ answered 200 without {slug}"

    def download(self, key: str, attachment: EvidenceAttachment, expected: int) -> str:
        if key != "anonymous":
            self._need_login(key)
        response = self.as_user(key).get(f"evidence/{attachment.pk}/download")
        expect_status(response, expected)
        if expected != 200:
            return f"answered {response.status_code}"
        problems = []
        if not response.headers.get("Content-Disposition", "").startswith("attachment"):
            problems.append("not served as an attachment")
        if response.headers.get("X-Content-Type-Options") != "nosniff":
            problems.append("no X-Content-Type-Options: nosniff")
        if hashlib.sha256(response.content).hexdigest() != attachment.sha256:
            problems.append("the bytes differ from the stored SHA-256")
        if problems:
            raise CheckFailed("; ".join(problems))
        return f"{len(response.content)} bytes, SHA-256 matches"

    def readiness(self, key: str, expected: int) -> str:
        self._need_login(key)
        slug = self.seeded.plan.target_slug
        response = self.as_user(key).get(f"api/platform/tenants/{slug}/readiness")
        if expected == 200:
            data = expect_json(response)
            if data.get("tenant") != slug:
                raise CheckFailed(f"the readiness is for {data.get('tenant')!r}, not {slug}")
            return f"decision {data.get('decision')} for {data.get('stage')}"
        expect_status(response, expected)
        return f"answered {response.status_code}"


def evidence_to_download(tenant: Tenant) -> EvidenceAttachment | None:
    """The tenant's newest file or pasted output, for the download checks; None when it has none.

    The proof downloads evidence the tenant already has and attaches nothing to test with:
    whatever it attached would be the newest attachment of some requirement, and count as its
    evidence even when the run failed. (A URL is served with a line break the stored hash does
    not cover, so the byte comparison needs a file or pasted output.)
    """
    return (
        EvidenceAttachment.objects.filter(tenant=tenant, url="")
        .only("id", "tenant_id", "sha256")
        .order_by("-captured_at", "-id")
        .first()
    )


def download_checks(run: SmokeRun, proof: Proof) -> None:
    """Owner and granted employer download the tenant's evidence; denied and anonymous get 404."""
    probe = evidence_to_download(proof.seeded.tenant)
    names = (
        ("fixture: owner downloads evidence", "owner", 200),
        ("fixture: granted employer downloads evidence", "granted", 200),
        ("fixture: denied employer gets 404 for evidence", "denied", 404),
        ("fixture: anonymous visitor gets 404 for evidence", "anonymous", 404),
    )
    for name, key, expected in names:
        if probe is None:
            why = f"{proof.seeded.tenant.slug} has no evidence file yet; the proof attaches none to test with"
            skip(run, name, why)
        else:
            run.check(name, functools.partial(proof.download, key, probe, expected))


def prove(run: SmokeRun, seeded: Seeded, include_fixtures: bool, new_session: Callable[[], Any]) -> Proof:
    """Run every check of the plan as its users; the results land in ``run``."""
    plan = seeded.plan
    target = plan.target_slug
    proof = Proof(run, seeded, new_session)
    for key in seeded.users:
        run.check(f"{key} logs in", functools.partial(proof.login, key))
    where = "tenant" if plan.for_customer else "fixture"
    run.check(f"owner sees the {where} launch room", lambda: proof.room("owner", target, 200))
    run.check(f"granted employer sees the {where} launch room", lambda: proof.room("granted", target, 200))
    run.check(f"denied employer gets 404 for the {where} launch room", lambda: proof.room("denied", target, 404))
    if plan.other_slug is not None:
        other = plan.other_slug
        run.check("denied employer sees their own launch room", lambda: proof.room("denied", other, 200))
    else:
        run.check(
            "denied employer's launch-room list does not name the tenant", lambda: proof.not_listed("denied", target)
        )
    if include_fixtures:
        # This portal's own isolation of evidence and readiness, as each user: part of the
        # access proof (gate 5). Gate 6's fixtures run on the platform deployment, so none of
        # them is produced here, and nothing of this run is attached to gate 6.
        download_checks(run, proof)
        run.check("fixture: owner reads the readiness API", lambda: proof.readiness("owner", 200))
        run.check("fixture: denied employer gets 404 from the readiness API", lambda: proof.readiness("denied", 404))
        skip(run, "fixture: issuer fixture", "the portal issues no credentials; it runs on the platform deployment")
        skip(
            run,
            "fixture: evidence fixture",
            "the evidence job fixture runs on the platform deployment; the download checks above are this portal's "
            "access rules, not that fixture",
        )
        skip(run, "fixture: audit export fixture", "the portal has no audit export endpoint; it runs on the platform")
        skip(
            run,
            "fixture: privacy fixture",
            "the portal has no data-rights export or erasure to exercise; isolation is not privacy fulfilment",
        )
    return proof
