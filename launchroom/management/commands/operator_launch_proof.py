"""Prove tenant isolation against a running portal, as three real users, and sign the proof.

    CONFIRM_OPERATOR_LAUNCH_PROOF=thesmios-operator-proof LAUNCH_OPERATIONS_SECRET=<secret> \\
    THESMIOS_SMOKE_URL=https://portal.example python manage.py operator_launch_proof \\
        --seed --include-fixtures --output /tmp/thesmios-operator-proof.json

It mutates the portal's own database, so it is refused unless both variables are set.
``--seed`` creates, idempotently, the fixture tenant ``launch-proof-fixture`` and a second
tenant ``launch-proof-other``, with three customer users: the owner (buyer sponsor of the
fixture), a granted employer (viewer of the fixture) and a denied employer (member of the
other tenant only). Their passwords are random for each run, never printed or written,
and made unusable again when the run ends. The command logs in as each over real HTTP
and checks that owner and granted open the fixture's launch room and the denied one gets
404 there (while opening their own).

``--include-fixtures`` adds the gate 6 checks this portal can honestly make: evidence
download isolation (owner and granted download a probe file byte for byte, the denied
user and an anonymous visitor get 404) and readiness API isolation. The issuer, audit
export and privacy fixtures exercise capabilities the portal does not have (credential
issuing, an audit export endpoint, data-rights fulfilment); they are reported as
skipped, never passed.

The proof JSON carries an HMAC-SHA256 ``signature`` under ``LAUNCH_OPERATIONS_SECRET``
over the canonical JSON of everything else (``verify_proof FILE`` checks it). When every
check passed it is attached to gate 5's operator seed run and access smoke results of
the fixture tenant (and gate 6's evidence fixture with ``--include-fixtures``), as this
command's output.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from core.hashing import canonical_json
from evidence.models import EvidenceAttachment
from evidence.services import evidence_attach
from launchroom.management.commands.check_managed_beta_readiness import finish
from launchroom.models import MembershipRole, Tenant, TenantMembership
from launchroom.proofs.smoke import (
    PASSED,
    SKIPPED,
    CheckFailed,
    CheckResult,
    SmokeError,
    SmokeRun,
    expect_json,
    expect_status,
    resolve_url,
)

COMMAND = "operator_launch_proof"
CONFIRM_VARIABLE = "CONFIRM_OPERATOR_LAUNCH_PROOF"
CONFIRM_VALUE = "thesmios-operator-proof"
SECRET_VARIABLE = "LAUNCH_OPERATIONS_SECRET"
SIGNATURE_ALGORITHM = "HMAC-SHA256"

FIXTURE_SLUG = "launch-proof-fixture"
OTHER_SLUG = "launch-proof-other"
LOGIN_PATH = "accounts/login/"


@dataclass(frozen=True)
class FixtureUser:
    key: str
    username: str
    tenant_slug: str
    role: str


FIXTURE_USERS = (
    FixtureUser("owner", "launch-proof-owner", FIXTURE_SLUG, MembershipRole.BUYER_SPONSOR),
    FixtureUser("granted", "launch-proof-granted", FIXTURE_SLUG, MembershipRole.VIEWER),
    FixtureUser("denied", "launch-proof-denied", OTHER_SLUG, MembershipRole.BUYER_SPONSOR),
)

ATTACH_TO = (("tenant-access-proof", "operator-seed-run"), ("tenant-access-proof", "access-smoke"))
FIXTURE_ATTACH_TO = (("credential-evidence-proof", "evidence-fixture"),)
PROBE_REQUIREMENT = ("credential-evidence-proof", "evidence-fixture")


def operations_secret() -> str:
    return os.environ.get(SECRET_VARIABLE) or str(getattr(settings, SECRET_VARIABLE, "") or "")


def sign(body: dict[str, Any], secret: str) -> str:
    """HMAC-SHA256 over the canonical JSON (sorted keys, no whitespace) of ``body``."""
    return hmac.new(secret.encode(), canonical_json(body).encode(), hashlib.sha256).hexdigest()


def signed(report: dict[str, Any], secret: str) -> dict[str, Any]:
    body = {k: v for k, v in report.items() if k != "signature"}
    return {**body, "signature": sign(body, secret)}


def _refusal() -> str:
    return (
        f"operator_launch_proof refused: it seeds fixture users in this portal's database, so set "
        f"{CONFIRM_VARIABLE}={CONFIRM_VALUE} and {SECRET_VARIABLE} (the secret that signs the proof)"
    )


@dataclass
class Seeded:
    tenant: Tenant
    other: Tenant
    users: dict[str, Any]
    passwords: dict[str, str]
    created: list[str]


def seed_fixture() -> Seeded:
    """Create or reset the fixture tenants and users (idempotent), with fresh random passwords."""
    User = get_user_model()
    created: list[str] = []
    with transaction.atomic():
        tenants = {}
        for slug, name in ((FIXTURE_SLUG, "Launch proof fixture"), (OTHER_SLUG, "Launch proof fixture (other)")):
            tenant, made = Tenant.objects.get_or_create(slug=slug, defaults={"name": name})
            tenants[slug] = tenant
            if made:
                created.append(f"tenant {slug}")
        users: dict[str, Any] = {}
        passwords: dict[str, str] = {}
        for fixture in FIXTURE_USERS:
            user, made = User.objects.get_or_create(
                username=fixture.username,
                defaults={"email": f"{fixture.username}@launch-proof.invalid", "first_name": "Launch proof"},
            )
            if made:
                created.append(f"user {fixture.username}")
            if user.is_staff or user.is_superuser:
                raise CommandError(
                    f"user {fixture.username} exists and is staff: the proof's users must be customer accounts"
                )
            passwords[fixture.key] = secrets.token_urlsafe(24)
            user.is_active = True
            user.set_password(passwords[fixture.key])
            user.save()
            # Exactly one membership each: the denied user must not be a member of the fixture.
            TenantMembership.objects.filter(user=user).exclude(tenant=tenants[fixture.tenant_slug]).delete()
            membership, made = TenantMembership.objects.get_or_create(
                user=user, tenant=tenants[fixture.tenant_slug], defaults={"role": fixture.role}
            )
            if membership.role != fixture.role:
                membership.role = fixture.role
                membership.save()
            users[fixture.key] = user
    _reset_lockouts()
    return Seeded(tenants[FIXTURE_SLUG], tenants[OTHER_SLUG], users, passwords, created)


def _reset_lockouts() -> None:
    # A failed earlier run must not lock this one out of its own fixture users.
    from axes.utils import reset

    for fixture in FIXTURE_USERS:
        reset(username=fixture.username)


def retire_passwords(seeded: Seeded) -> None:
    """Make the run's passwords useless: no credential outlives the proof."""
    for user in seeded.users.values():
        user.set_unusable_password()
        user.save(update_fields=["password"])


def new_session() -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = f"thesmios-{COMMAND}/{settings.PORTAL_VERSION}"
    return session


def skip(run: SmokeRun, name: str, detail: str) -> None:
    result = CheckResult(name, SKIPPED, detail)
    run.results.append(result)
    if run.out is not None:
        run.out.write(f"{SKIPPED.upper():<7} {name}: {detail}\n")


class Proof:
    """The checks of one run, each user in their own HTTP session."""

    def __init__(self, run: SmokeRun, seeded: Seeded):
        self.run = run
        self.seeded = seeded
        self.sessions = {key: new_session() for key in (*seeded.users, "anonymous")}
        self.logged_in: set[str] = set()
        self.snapshot: dict[str, Any] = {}

    def as_user(self, key: str) -> SmokeRun:
        self.run.session = self.sessions[key]
        return self.run

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
        if key not in self.logged_in:
            raise CheckFailed(f"{self.seeded.users[key].username} is not logged in")
        run = self.as_user(key)
        response = run.get(f"launch-room/{slug}/")
        expect_status(response, expected)
        if expected == 200 and key == "owner":
            title = re.search(r"<title>(.*?)</title>", response.text, re.S)
            self.snapshot = {
                "path": f"/launch-room/{slug}/",
                "user": self.seeded.users[key].username,
                "status": response.status_code,
                "title": title[1].strip() if title else "",
                "bytes": len(response.content),
                "sha256": hashlib.sha256(response.content).hexdigest(),
            }
        return f"/launch-room/{slug}/ answered {response.status_code}"

    def download(self, key: str, attachment: EvidenceAttachment, expected: int) -> str:
        if key != "anonymous" and key not in self.logged_in:
            raise CheckFailed(f"{self.seeded.users[key].username} is not logged in")
        run = self.as_user(key)
        response = run.get(f"evidence/{attachment.pk}/download")
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
        if key not in self.logged_in:
            raise CheckFailed(f"{self.seeded.users[key].username} is not logged in")
        run = self.as_user(key)
        response = run.get(f"api/platform/tenants/{FIXTURE_SLUG}/readiness")
        if expected == 200:
            data = expect_json(response)
            if data.get("tenant") != FIXTURE_SLUG:
                raise CheckFailed(f"the readiness is for {data.get('tenant')!r}, not {FIXTURE_SLUG}")
            return f"decision {data.get('decision')} for {data.get('stage')}"
        expect_status(response, expected)
        return f"answered {response.status_code}"


def probe_attachment(tenant: Tenant) -> EvidenceAttachment:
    body = {
        "command": COMMAND,
        "fixture": "evidence download isolation probe",
        "tenant": tenant.slug,
        "nonce": secrets.token_hex(16),
        "created_at": timezone.now().isoformat(),
    }
    gate_key, requirement_key = PROBE_REQUIREMENT
    return evidence_attach(
        tenant=tenant,
        gate_key=gate_key,
        requirement_key=requirement_key,
        by=None,
        file=SimpleUploadedFile("evidence-download-probe.json", json.dumps(body, indent=2).encode()),
        produced_by_command=COMMAND,
        note="Probe file for the evidence download isolation checks.",
    )


class Command(BaseCommand):
    help = "Seed the launch proof fixture, prove tenant isolation over HTTP as three users, and sign the proof."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", help="Base URL of the portal (default: THESMIOS_SMOKE_URL).")
        parser.add_argument("--seed", action="store_true", help="Create or reset the fixture tenant and its users.")
        parser.add_argument(
            "--include-fixtures", action="store_true", help="Also run gate 6's evidence and readiness fixtures."
        )
        parser.add_argument("--output", metavar="FILE", help="Write the signed proof JSON to FILE.")

    def handle(
        self,
        *args: Any,
        url: str | None = None,
        seed: bool = False,
        include_fixtures: bool = False,
        output: str | None = None,
        **options: Any,
    ) -> None:
        secret = operations_secret()
        if os.environ.get(CONFIRM_VARIABLE) != CONFIRM_VALUE or not secret:
            raise CommandError(_refusal())
        if not seed:
            raise CommandError(
                "operator_launch_proof needs --seed: the proof logs in as fixture users whose passwords are set "
                "afresh on every run"
            )
        try:
            run = SmokeRun(base_url=resolve_url(url), command=COMMAND, out=self.stdout)
            self.stdout.write(f"Proving tenant access against {run.base_url}")
            # Reach the portal before touching the database: a dead URL changes nothing.
            run.session = new_session()

            def portal() -> str:
                response = run.get(LOGIN_PATH)
                expect_status(response, 200)
                if 'name="csrfmiddlewaretoken"' not in response.text:
                    raise CheckFailed("the page has no login form")
                return f"/{LOGIN_PATH}"

            if run.check("portal login page answers", portal).status != PASSED:
                raise CommandError(f"{run.base_url} does not look like this portal: nothing seeded")
            seeded = seed_fixture()
            self.stdout.write(
                f"Seeded {FIXTURE_SLUG} and {OTHER_SLUG}: "
                + (", ".join(seeded.created) + " created" if seeded.created else "already present, passwords renewed")
            )
            try:
                proof = self.prove(run, seeded, include_fixtures)
            finally:
                retire_passwords(seeded)
        except SmokeError as exc:
            raise CommandError(str(exc)) from None
        except requests.RequestException as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise CommandError(f"request failed: {first[:200]}") from None

        report = signed(
            run.report(
                kind="operator_launch_proof",
                fixture={
                    "tenant": FIXTURE_SLUG,
                    "other_tenant": OTHER_SLUG,
                    "users": [
                        {"as": f.key, "username": f.username, "tenant": f.tenant_slug, "role": str(f.role)}
                        for f in FIXTURE_USERS
                    ],
                    "created": seeded.created,
                    "passwords": "random for this run, never printed or stored, unusable after the run",
                },
                include_fixtures=include_fixtures,
                launch_room_snapshot=proof.snapshot,
                signature_algorithm=SIGNATURE_ALGORITHM,
                signed_with=SECRET_VARIABLE,
            ),
            secret,
        )
        data = finish(self, run, report, output, label="Signed proof")
        counts = run.counts()
        if counts["failed"]:
            raise CommandError(f"{counts['failed']} of {len(run.results)} checks failed: nothing attached")
        targets = ATTACH_TO + (FIXTURE_ATTACH_TO if include_fixtures else ())
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        # One transaction each: evidence_attach removes its own file when it fails, but an
        # enclosing rollback could not remove the files of the attachments before it.
        for gate_key, requirement_key in targets:
            evidence_attach(
                tenant=seeded.tenant,
                gate_key=gate_key,
                requirement_key=requirement_key,
                by=None,
                file=SimpleUploadedFile(f"operator-launch-proof-{stamp}.json", data, "application/json"),
                produced_by_command=COMMAND,
                note=f"Signed ({SIGNATURE_ALGORITHM}) operator launch proof against {run.base_url}",
            )
        self.stdout.write(f"Attached to {FIXTURE_SLUG}: " + ", ".join(f"{g}/{r}" for g, r in targets))

    def prove(self, run: SmokeRun, seeded: Seeded, include_fixtures: bool) -> Proof:
        proof = Proof(run, seeded)
        for key in seeded.users:
            run.check(f"{key} logs in", lambda key=key: proof.login(key))
        run.check("owner sees the fixture launch room", lambda: proof.room("owner", FIXTURE_SLUG, 200))
        run.check("granted employer sees the fixture launch room", lambda: proof.room("granted", FIXTURE_SLUG, 200))
        run.check(
            "denied employer gets 404 for the fixture launch room", lambda: proof.room("denied", FIXTURE_SLUG, 404)
        )
        run.check("denied employer sees their own launch room", lambda: proof.room("denied", OTHER_SLUG, 200))
        if include_fixtures:
            probe = probe_attachment(seeded.tenant)
            run.check("fixture: owner downloads evidence", lambda: proof.download("owner", probe, 200))
            run.check("fixture: granted employer downloads evidence", lambda: proof.download("granted", probe, 200))
            run.check("fixture: denied employer gets 404 for evidence", lambda: proof.download("denied", probe, 404))
            run.check(
                "fixture: anonymous visitor gets 404 for evidence", lambda: proof.download("anonymous", probe, 404)
            )
            run.check("fixture: owner reads the readiness API", lambda: proof.readiness("owner", 200))
            run.check(
                "fixture: denied employer gets 404 from the readiness API", lambda: proof.readiness("denied", 404)
            )
            skip(run, "fixture: issuer fixture", "the portal issues no credentials; nothing here to prove")
            skip(run, "fixture: audit export fixture", "the portal has no audit export endpoint to exercise")
            skip(
                run,
                "fixture: privacy fixture",
                "the portal has no data-rights export or erasure to exercise; isolation is not privacy fulfilment",
            )
        return proof
