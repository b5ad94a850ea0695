"""Generated input against every write endpoint and every page that reads a query string.

Hypothesis sends bodies and query strings full of what breaks databases and parsers (NUL,
lone surrogates, control characters, over-long strings, deep nesting, huge numbers, time
offsets no zone has) and checks that nothing answers 5xx, that answers under /api/ are JSON,
and that a refused write saves nothing. CI runs the suite a second time on PostgreSQL, where
most of these used to fail.

Nothing can be left out unnoticed: ``test_it_reaches_every_query_parameter_a_view_reads``
finds each ``request.GET`` read in the source, and ``test_it_reaches_every_route`` each URL
(outside the admin's own model pages), and both fail until the new one is fuzzed here or
said to take no input. The examples per endpoint are few, so the file stays fast
(``FUZZ_EXAMPLES=200`` for a deeper run).
"""

from __future__ import annotations

import ast
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.contrib.messages import ERROR, get_messages
from django.db import connection
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django_otp.plugins.otp_totp.models import TOTPDevice
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.models import BillingProfile
from core.admin import model_admins
from launchroom import catalog
from launchroom.conversation.views import CommentForm
from launchroom.models import AcceptanceRecord, DecisionLogEntry, LaunchStage, OrderForm, Stage, Tenant
from launchroom.notifications.views import PreferenceForm
from launchroom.orderforms.admin import SignOrderFormForm
from launchroom.orderforms.room import ApproveOrderFormForm, RequestChangesForm
from launchroom.orderforms.services import order_form_create, order_form_send
from launchroom.portfolio.selectors import SORTS, PortfolioFilter
from launchroom.readiness_admin.decisions import GateDecisionForm, StageMoveForm
from launchroom.tenants.accounts import LoginForm, PasswordResetForm
from launchroom.tenants.admin import InviteForm
from launchroom.tenants.two_factor import CodeForm
from tests.factories import member, ready_tenant
from tests.launch_helpers import api_body, buyer, sign_form, stale_proof_plan

pytestmark = pytest.mark.django_db

# Few examples per endpoint: there are some sixty endpoints, and the suite runs on two cores.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))
FUZZ = settings(
    max_examples=EXAMPLES * 4,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)
FEWER = settings(FUZZ, max_examples=EXAMPLES * 2)
EACH = settings(FUZZ, max_examples=EXAMPLES)

NASTY = ["\x00", "\ud800", "\udfff", "\x07", "\x1b", "\x7f", "\u2028", "\ufeff", "\uffff", "é", "山", "🚀"]
NASTY += ["'", '"', "%", "\\", "<script>", "a", " ", "\n", "\t", "-", "_", "=", ";", "&"]
VALID = ["contoso", "globex", "paid_beta", "private_beta", "setup", "accepted", "deferred", "go", "hold", "1", ""]

BAD_CHARACTERS = ["\x00", "\ud800", "\udfff", "\x07", "\x1b", "\x7f", "\x85"]
short = st.one_of(st.text(max_size=12), st.lists(st.sampled_from(NASTY), max_size=6).map("".join))
# Text that no column can hold: a bad character somewhere, or more characters than any column.
bad_texts = st.one_of(
    st.tuples(short, st.sampled_from(BAD_CHARACTERS), short).map("".join),
    st.builds(lambda char, n: char * n, st.sampled_from(["a", "é", "-"]), st.integers(61, 12_000)),
)
texts = st.one_of(
    bad_texts,
    bad_texts,  # weighted: half of all generated text cannot be stored
    st.text(max_size=30),
    st.lists(st.sampled_from(NASTY), max_size=12).map("".join),
    st.text(alphabet=st.characters(codec=None, categories=["Cs", "Cc", "Co", "Cn", "L"]), max_size=15),
    st.sampled_from(VALID),
)
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False),
    texts,
)
json_values = st.recursive(
    leaves,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(texts, children, max_size=3),
    max_leaves=12,
)
deep = st.integers(15, 3000).map(lambda depth: "[" * depth + "]" * depth)


def raw_query(pairs: list[tuple[str, str]]) -> str:
    """A query string as any client can send it: surrogates go out UTF-8-encoded, as they are."""
    enc = [(quote(k.encode("utf-8", "surrogatepass")), quote(v.encode("utf-8", "surrogatepass"))) for k, v in pairs]
    return "&".join(f"{k}={v}" for k, v in enc)


# Values a parameter of that name is meant to hold, near misses included; any other text too.
iso_times = st.builds(
    lambda when, sign, hours, minutes: f"{when.isoformat()}{sign}{hours:02d}:{minutes:02d}",
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59)),
    st.sampled_from("+-"),
    st.integers(0, 23),
    st.integers(0, 59),
)
dates = st.dates().map(str)
NEXT_URLS = ["/launch-room/", "//evil.example/", "https://evil.example/x", "javascript:alert(1)", "/\\evil", "/%00"]
PLAUSIBLE: dict[str, st.SearchStrategy[str]] = {
    "page": st.one_of(st.integers(-10, 10**30).map(str), st.sampled_from(["last", "0", "-1", "1e9", "2.5"])),
    "since": st.one_of(iso_times, dates),
    "fell_since": st.one_of(iso_times, dates),
    "stage": st.sampled_from([*LaunchStage.values, *Stage.values]),
    "to_stage": st.sampled_from(Stage.values),
    "gate": st.sampled_from([g.key for g in catalog.GATES]),
    "gate_key": st.sampled_from([g.key for g in catalog.GATES]),
    "subject": st.sampled_from([f"gate:{g.key}" for g in catalog.GATES] + ["order-form:1", "order-form:x"]),
    "next": st.sampled_from(NEXT_URLS),
    "tenant": st.sampled_from(["contoso", "globex", "nope"]),
    "sort": st.sampled_from(list(SORTS)),
    "otp_token": st.one_of(st.from_regex(r"[0-9]{6}", fullmatch=True), st.from_regex(r"[a-z0-9]{8}", fullmatch=True)),
}


def values(name: str) -> st.SearchStrategy[str]:
    return st.one_of(PLAUSIBLE[name], texts) if name in PLAUSIBLE else texts


def queries(names: list[str] | tuple[str, ...]) -> st.SearchStrategy[str]:
    """Mostly the page's own parameters, with generated values; sometimes made-up names."""
    own = st.sampled_from(list(names)).flatmap(lambda name: st.tuples(st.just(name), values(name)))
    pair = st.one_of(own, own, own, st.tuples(texts, texts))
    return st.lists(pair, min_size=1, max_size=3).map(raw_query)


def form_data(names: tuple[str, ...]) -> st.SearchStrategy[dict[str, str]]:
    """A form post: some of the form's fields with generated values. Browsers send UTF-8, so
    surrogates arrive as U+FFFD."""
    own = st.fixed_dictionaries({}, optional={name: values(name) for name in names})
    return own.map(lambda data: {k: v.encode("utf-8", "replace").decode("utf-8", "replace") for k, v in data.items()})


def history_rows() -> int:
    """Every history row in the database, in one query: every tracked write adds one."""
    tables = [m._meta.db_table for m in apps.get_models() if m.__name__.startswith("Historical")]
    sql = " + ".join(f"(SELECT COUNT(*) FROM {connection.ops.quote_name(t)})" for t in tables)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {sql}")
        return int(cursor.fetchone()[0])


def login(username: str | None) -> Client:
    client = Client()
    if username is not None:
        client.force_login(get_user_model().objects.get(username=username))
    return client


def assert_no_5xx(response: Any, what: str) -> None:
    assert response.status_code < 500, (what, response.status_code, response.content[:300])


def assert_json(response: Any) -> None:
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    json.loads(response.content)


def acceptance_rows() -> tuple[int, int, int]:
    return AcceptanceRecord.objects.count(), DecisionLogEntry.objects.count(), AcceptanceRecord.history.count()


@pytest.fixture
def contoso(db: None) -> Tenant:
    """Every gate met for paid beta but the buyer's acceptance."""
    return ready_tenant("contoso")


# Write APIs and forms ------------------------------------------------------------------------------

FIELDS = [
    "tenant",
    "stage",
    "decision",
    "signer_name",
    "signer_role",
    "exclusions",
    "residual_risks",
    "approval_reference",
    "evidence_references",
    "note",
    "affirmation",
    "on_written_approval",
    "signer_email",
]
overrides = st.dictionaries(st.one_of(st.sampled_from(FIELDS), texts), json_values, max_size=4)
SIGN_FIELDS = ["stage", "snapshot_sha256", "decision", "signer_name", "signer_role", "approval_reference"]
SIGN_FIELDS += ["exclusions", "residual_risks", "note", "affirmation"]
STRING_FIELDS = ["tenant", "stage", "decision", "signer_name", "signer_role", "approval_reference", "note"]
STRING_FIELDS += ["affirmation", "signer_email"]
# A valid body with one field made bad reaches deepest: past the shape checks, to the database.
one_bad_string = st.tuples(st.sampled_from(STRING_FIELDS), texts).map(lambda kv: ("merge", {kv[0]: kv[1]}))
one_bad_entry = st.tuples(st.sampled_from(["exclusions", "residual_risks"]), texts).map(lambda kv: ("append", kv))
bodies = st.one_of(
    one_bad_string,
    one_bad_string,
    one_bad_entry,
    overrides.map(lambda o: ("merge", o)),
    st.tuples(st.just("raw"), st.one_of(deep, st.binary(max_size=200).map(lambda b: b.decode("latin-1")), texts)),
    json_values.map(lambda v: ("raw", json.dumps(v))),
)


@FUZZ
@given(body=bodies)
def test_it_never_fails_on_a_generated_acceptance_patch(contoso: Tenant, body: tuple[str, Any]) -> None:
    client = Client()
    client.force_login(buyer("contoso"))
    kind, value = body
    if kind == "append":
        valid = api_body(contoso)
        field, entry = value
        data = json.dumps({**valid, field: [*valid[field], entry]})
    else:
        data = json.dumps({**api_body(contoso), **value}) if kind == "merge" else value
    before = acceptance_rows()
    # Raw bodies go out as bytes, as a client can send them (surrogates UTF-8-encoded as they are).
    raw = data.encode("utf-8", "surrogatepass")
    response = client.patch("/api/platform/launch-acceptance", raw, content_type="application/json")
    assert_no_5xx(response, data[:200])
    assert_json(response)
    after = acceptance_rows()
    if response.status_code == 201:
        assert after[0] == before[0] + 1
    else:
        assert after == before, (response.status_code, response.content[:300])


@FEWER
@given(changes=st.dictionaries(st.sampled_from(SIGN_FIELDS), texts, max_size=4))
def test_it_never_fails_on_a_generated_signature_form(contoso: Tenant, changes: dict[str, str]) -> None:
    client = Client()
    client.force_login(buyer("contoso"))
    # Form posts carry no surrogates (the browser encodes text as UTF-8); they arrive as U+FFFD.
    data = {k: v.encode("utf-8", "replace").decode("utf-8", "replace") for k, v in changes.items()}
    before = acceptance_rows()
    response = client.post("/launch-room/contoso/sign", {**sign_form(contoso), **data})
    assert_no_5xx(response, repr(data)[:200])
    after = acceptance_rows()
    if response.status_code != 302:
        assert after == before, response.status_code


@pytest.fixture
def acme_finance(staff: dict[str, Any]) -> Any:
    from launchroom.models import MembershipRole

    tenant = Tenant.objects.create(slug="acme", name="Acme")
    BillingProfile.objects.create(
        tenant=tenant,
        billing_owner_name="Fay Finance",
        billing_owner_email="fay@acme.example",
        po_terms="PO within 30 days",
        plan="Managed beta",
        seat_cap=25,
        renewal_terms="Yearly",
        cancellation_terms="30 days' notice",
    )
    return member(tenant, MembershipRole.BUYER_FINANCE, username="finance-acme")


@FEWER
@given(name=texts, confirm=st.sampled_from(["on", "", "\x00", "yes"]))
def test_it_never_fails_on_a_generated_billing_fallback_acceptance(acme_finance: Any, name: str, confirm: str) -> None:
    profile = BillingProfile.objects.get(tenant__slug="acme")
    profile.fallback_accepted_at, profile.fallback_accepted_name, profile.fallback_terms_sha256 = None, "", ""
    profile.save()
    history = BillingProfile.history.count()
    client = Client()
    client.force_login(acme_finance)
    safe = name.encode("utf-8", "replace").decode("utf-8", "replace")
    response = client.post("/launch-room/acme/billing-fallback", {"name": safe, "confirm": confirm})
    assert_no_5xx(response, repr(safe)[:200])
    profile.refresh_from_db()
    if profile.fallback_accepted_at is None:
        assert BillingProfile.history.count() == history
    else:
        assert profile.fallback_accepted and profile.fallback_accepted_name == safe.strip()


slugs = st.one_of(
    st.sampled_from(["contoso", "globex", "nope"]),
    st.from_regex(r"[-a-zA-Z0-9_]{1,80}", fullmatch=True),
    texts.filter(bool).map(lambda text: quote(text.encode("utf-8", "surrogatepass"), safe="")),
)


@FUZZ
@given(slug=slugs, query=queries(["stage"]))
def test_it_never_fails_on_a_generated_readiness_request(contoso: Tenant, slug: str, query: str) -> None:
    client = Client()
    client.force_login(buyer("contoso"))
    response = client.get(f"/api/platform/tenants/{slug}/readiness?{query}")
    assert_no_5xx(response, query)
    assert_json(response)


def changelists() -> list[tuple[str, list[str]]]:
    found = []
    for model, model_admin in model_admins(admin.site):  # ours and the packages' (users, login attempts)
        names = ["q", "o", "p", "e", "all"]
        for entry in model_admin.list_filter:
            if isinstance(entry, str):
                names += [entry, f"{entry}__exact", f"{entry}__gte", f"{entry}__isnull"]
            elif isinstance(entry, tuple):
                names += [entry[0], f"{entry[0]}__exact"]
            else:
                names.append(entry.parameter_name)
        found.append((f"{model._meta.app_label}/{model._meta.model_name}", names))
    return sorted(found)


@pytest.mark.parametrize(("label", "names"), changelists(), ids=[label for label, _ in changelists()])
def test_it_never_fails_on_generated_admin_filters(contoso: Tenant, staff: dict[str, Any], label: str, names) -> None:
    client = Client()
    client.force_login(staff["operator"])

    @EACH
    @given(query=queries(names))
    def check(query: str) -> None:
        assert_no_5xx(client.get(f"/admin/{label}/?{query}"), f"{label}?{query}")

    check()


# Every page and API that reads a query string ----------------------------------------------------

PORTFOLIO = (*PortfolioFilter.base_fields, "page")


@dataclass(frozen=True)
class Page:
    """A page or API that reads query parameters: its route, who asks, and where it reads them."""

    route: str
    url: str  # {pk}: contoso's id
    user: str
    source: str  # the module whose request.GET reads these are
    params: tuple[str, ...]
    known: tuple[str, ...] = ()  # query strings that once answered 500: always sent

    def __str__(self) -> str:
        return self.route


PAGES = [
    Page(
        "api_launch_acceptance",
        "/api/platform/launch-acceptance",
        "buyer-contoso",
        "launchroom/acceptance/api.py",
        ("tenant", "stage"),
    ),
    Page(
        "api_readiness",
        "/api/platform/tenants/contoso/readiness",
        "buyer-contoso",
        "launchroom/readiness_api.py",
        ("stage",),
    ),
    Page(
        "api_transitions",
        "/api/platform/tenants/contoso/transitions",
        "buyer-contoso",
        "launchroom/readiness_api.py",
        ("since",),
        # Offsets PostgreSQL refuses, and UTC years no database holds.
        known=(
            "since=2026-01-01T00:00:00%2B23:59",
            "since=0001-01-01T00:00:00%2B14:00",
            "since=9999-12-31T23:59:59-14:00",
        ),
    ),
    Page("launchroom:index", "/launch-room/", "operator", "launchroom/portfolio/views.py", PORTFOLIO),
    Page(
        "launchroom:portfolio_csv", "/launch-room/portfolio.csv", "operator", "launchroom/portfolio/views.py", PORTFOLIO
    ),
    Page("notifications:inbox", "/notifications/", "buyer-contoso", "launchroom/notifications/views.py", ("page",)),
    Page(
        "launchroom:evidence",
        "/launch-room/contoso/evidence/",
        "buyer-contoso",
        "launchroom/room/evidence.py",
        ("page",),
    ),
    Page(
        "admin:launchroom_tenant_decide",
        "/admin/launchroom/tenant/{pk}/decide/",
        "operator",
        "launchroom/admin.py",
        ("gate",),
    ),
    # The operator has an authenticator (the fixture), the security owner has none yet.
    Page("two_factor", "/accounts/two-factor/", "operator", "launchroom/tenants/two_factor.py", ("next",)),
    Page("two_factor_setup", "/accounts/two-factor/setup/", "security", "launchroom/tenants/two_factor.py", ("next",)),
]
# Every admin changelist reads its filters, search, order and page (core/admin.py guards them all):
# test_it_never_fails_on_generated_admin_filters above.
CHANGELISTS = "core/admin.py"


@pytest.fixture
def world(contoso: Tenant, staff: dict[str, Any]) -> Iterator[Tenant]:
    """contoso, with a version of its order form sent to the buyer for review and an
    authenticator for the operator, so the forms reach their services."""
    draft = order_form_create(tenant=contoso, by=staff["commercial"], cohort_size=150)
    order_form_send(order_form=draft, by=staff["commercial"])
    TOTPDevice.objects.create(user=staff["operator"], name="app", confirmed=True)
    yield contoso


@pytest.mark.parametrize("page", PAGES, ids=str)
def test_it_never_fails_on_a_generated_query_string(world: Tenant, page: Page) -> None:
    client = login(page.user)
    url = page.url.format(pk=world.pk)

    def check(query: str) -> None:
        response = client.get(f"{url}?{query}")
        assert_no_5xx(response, f"{url}?{query}")
        if url.startswith("/api/"):
            assert_json(response)

    for query in page.known:
        check(query)
    EACH(given(query=queries(page.params))(check))()


def test_it_answers_400_to_a_since_postgresql_would_refuse(world: Tenant) -> None:
    client = login("buyer-contoso")
    response = client.get("/api/platform/tenants/contoso/transitions?since=2026-01-01T00:00:00%2B23:59")
    assert response.status_code == 400
    assert response.json()["errors"]["since"] == ["The UTC offset must lie between -14:00 and +14:00."]


# Every form and write endpoint -------------------------------------------------------------------

SET_PASSWORD = tuple(SetPasswordForm.base_fields)


@dataclass(frozen=True)
class Form:
    """A write endpoint: its route, who posts, and the fields it reads (some always sent)."""

    route: str
    url: str  # {pk}: contoso's id; {draft}: the version under review; {uid}/{token}: generated
    user: str | None
    fields: tuple[str, ...]
    always: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.route


FORMS = [
    Form(
        "launchroom:order_form_approve",
        "/launch-room/contoso/order-form/approve",
        "buyer-contoso",
        tuple(ApproveOrderFormForm.base_fields),
    ),
    Form(
        "launchroom:order_form_changes",
        "/launch-room/contoso/order-form/request-changes",
        "buyer-contoso",
        tuple(RequestChangesForm.base_fields),
    ),
    Form("launchroom:comment", "/launch-room/contoso/comments", "buyer-contoso", (*CommentForm.base_fields, "next")),
    Form("notifications:inbox", "/notifications/", "buyer-contoso", tuple(PreferenceForm.base_fields)),
    Form("notifications:read_all", "/notifications/read-all", "buyer-contoso", ()),
    Form("login", "/accounts/login/", None, tuple(LoginForm.base_fields)),
    Form("logout", "/accounts/logout/", "buyer-contoso", ()),
    Form("password_change", "/accounts/password/change/", "buyer-contoso", tuple(PasswordChangeForm.base_fields)),
    Form("password_reset", "/accounts/password/reset/", None, tuple(PasswordResetForm.base_fields)),
    Form("password_reset_confirm", "/accounts/password/reset/{uid}/{token}/", None, SET_PASSWORD),
    Form("invite_accept", "/accounts/invite/{uid}/{token}/", None, SET_PASSWORD),
    Form("two_factor", "/accounts/two-factor/", "operator", (*CodeForm.base_fields, "next")),
    Form("two_factor_setup", "/accounts/two-factor/setup/", "security", (*CodeForm.base_fields, "next")),
    Form(
        "admin:launchroom_tenant_decide",
        "/admin/launchroom/tenant/{pk}/decide/",
        "operator",
        tuple(GateDecisionForm.base_fields),
        {"apply": "1"},
    ),
    Form(
        "admin:launchroom_tenant_move_stage",
        "/admin/launchroom/tenant/{pk}/move-stage/",
        "operator",
        tuple(StageMoveForm.base_fields),
        {"apply": "1"},
    ),
    Form(
        "admin:launchroom_tenant_invite",
        "/admin/launchroom/tenant/{pk}/invite/",
        "commercial",
        tuple(InviteForm.base_fields),
    ),
    Form(
        "admin:launchroom_orderform_sign",
        "/admin/launchroom/orderform/{draft}/sign/",
        "commercial",
        tuple(SignOrderFormForm.base_fields),
    ),
    Form("admin:launchroom_orderform_send", "/admin/launchroom/orderform/{draft}/send/", "commercial", ()),
]
# The acceptance API, the signature and the billing-fallback acceptance have their own tests above.
OWN_TESTS = {"api_launch_acceptance", "launchroom:sign", "launchroom:billing_fallback"}
# The countersignature's API and admin page: tests/test_countersign.py fuzzes them.
OWN_TESTS |= {"api_acceptance_countersign", "api_acceptance_decline", "admin:launchroom_acceptancerecord_countersign"}
path_parts = st.one_of(
    st.from_regex(r"[-A-Za-z0-9_]{1,40}", fullmatch=True),
    texts.filter(bool).map(lambda text: quote(text.encode("utf-8", "surrogatepass"), safe="")),
)


def refused(response: Any) -> bool:
    """Anything but a redirect is a refusal (a form shown again, 4xx); a redirect with an error
    message too (the conversation's form answers so)."""
    if response.status_code not in (301, 302, 303):
        return True
    return any(message.level == ERROR for message in get_messages(response.wsgi_request))


@pytest.mark.parametrize("form", FORMS, ids=str)
def test_it_never_fails_on_a_generated_form_post(world: Tenant, form: Form) -> None:
    draft = OrderForm.objects.filter(tenant=world).order_by("-version").first()
    assert draft is not None

    @EACH
    @given(data=form_data(form.fields), uid=path_parts, token=path_parts)
    def check(data: dict[str, str], uid: str, token: str) -> None:
        client = login(form.user)
        url = form.url.format(pk=world.pk, draft=draft.pk, uid=uid, token=token)
        before = history_rows()
        response = client.post(url, {**data, **form.always})
        assert_no_5xx(response, f"{url} {data!r}"[:300])
        if refused(response):
            assert history_rows() == before, (url, response.status_code, data)

    check()


@EACH
@given(code=path_parts)
def test_it_never_fails_on_a_generated_verification_code(code: str) -> None:
    assert_no_5xx(Client().get(f"/verify/{code}"), code)


# Nothing left out --------------------------------------------------------------------------------

# Routes that read nothing a caller chooses but their path's slug or integer id (which the URL
# converters check) or nothing at all.
NO_INPUT = {
    "healthz",
    "packet_key",
    "packet_verifier",
    "home",
    "managed_beta",
    "production_proof",
    "api_managed_beta",
    "api_production_proof",
    "api_security_assurance",
    "api_procurement_evidence",
    "api_operations_evidence",
    "password_change_done",
    "password_reset_done",
    "password_reset_complete",
    "launchroom:room",
    "launchroom:order_form",
    "launchroom:packet",
    "launchroom:certificate",
    "launchroom:certificate_json",
    "notifications:open",
    "evidence:download",
}
FUZZED_PATHS = {"verify"}  # test_it_never_fails_on_a_generated_verification_code
# The admin's own pages (index, changelists, add, change, delete, history) are Django's: their
# query strings are fuzzed above, their forms are model forms. Its other views of our apps are ours.
ADMIN_VIEW_OF_OURS = re.compile(r"^admin:(launchroom|billing|evidence|core)_\w+$")
ADMIN_OWN_PAGE = re.compile(r"_(changelist|add|change|delete|history|simple_history)$")


def routes() -> set[str]:
    """Every named route with its namespace, the admin's own pages aside."""

    def walk(patterns: list[Any], namespace: str = "") -> Iterator[str]:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, f"{namespace}{entry.namespace}:" if entry.namespace else namespace)
            elif isinstance(entry, URLPattern) and entry.name:
                yield f"{namespace}{entry.name}"

    return {
        name
        for name in walk(get_resolver().url_patterns)
        if not name.startswith("admin:") or (ADMIN_VIEW_OF_OURS.match(name) and not ADMIN_OWN_PAGE.search(name))
    }


def test_it_reaches_every_route() -> None:
    fuzzed = {p.route for p in PAGES} | {f.route for f in FORMS} | OWN_TESTS | FUZZED_PATHS
    unreached = routes() - fuzzed - NO_INPUT
    assert unreached == set(), "fuzz these routes here, or add them to NO_INPUT if they take no input"


def _named_read(node: ast.AST) -> tuple[ast.Attribute, str] | None:
    """``request.GET.get("x")``, ``.getlist("x")`` or ``request.GET["x"]``: the ``.GET`` and ``x``."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("get", "getlist"):
        target, arguments = node.func.value, node.args
    elif isinstance(node, ast.Subscript):
        target, arguments = node.value, [node.slice]
    else:
        return None
    named = arguments[0] if arguments else None
    if isinstance(target, ast.Attribute) and target.attr == "GET" and isinstance(named, ast.Constant):
        return (target, named.value) if isinstance(named.value, str) else None
    return None


def query_parameters_read() -> set[tuple[str, str]]:
    """(module, parameter) for every ``request.GET`` read in our code; ``*`` where it reads them all."""
    root = Path(__file__).resolve().parent.parent
    found = set()
    for app in ("core", "launchroom", "billing", "evidence", "thesmios"):
        for path in (root / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            module = path.relative_to(root).as_posix()
            tree = ast.parse(path.read_text())
            reads = [read for node in ast.walk(tree) if (read := _named_read(node))]
            found |= {(module, name) for _, name in reads}
            named = {id(target) for target, _ in reads}
            for node in ast.walk(tree):
                if isinstance(node, ast.Attribute) and node.attr == "GET" and id(node) not in named:
                    found.add((module, "*"))
    return found


def test_it_reaches_every_query_parameter_a_view_reads() -> None:
    read = query_parameters_read()
    assert ("launchroom/readiness_api.py", "since") in read  # the scan finds what it should
    covered = {(p.source, name) for p in PAGES for name in p.params} | {(CHANGELISTS, "*")}
    # A page that reads its whole query string (a filter form) is fuzzed with every field of the form.
    covered |= {(p.source, "*") for p in PAGES if p.params == PORTFOLIO}
    assert read - covered == set(), "fuzz these parameters in PAGES"


# Comments, order-form review, /verify codes, admin add forms with autocomplete fields -----------
# (hardening round 3: each with what a saved row may hold, and nothing saved on a refusal)

# What a key can look like and cannot be: Django's autocomplete redrew these through a query.
key_like = st.one_of(
    st.sampled_from(["NaN", "nan", "inf", "-inf", "1e309", "0x10", "0b1", "1_000", "1.5", "+1", "-1", "\x00", ""]),
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.floats().map(str),
    st.text(alphabet=st.characters(categories=["Nd", "No"]), min_size=1, max_size=6),
    texts,
)


def storable(value: str) -> bool:
    """Whether multi-line text could have been stored (no NUL, surrogate or other control)."""
    return not any(c not in "\n\r\t" and (ord(c) < 32 or 0xD800 <= ord(c) <= 0xDFFF or ord(c) == 0x7F) for c in value)


def browser_text(value: str) -> str:
    return value.encode("utf-8", "replace").decode("utf-8", "replace")


@pytest.mark.parametrize("who", ["buyer-contoso", "operator"])
def test_it_never_fails_or_stores_bad_text_on_a_generated_room_comment(world: Tenant, who: str) -> None:
    from launchroom.models import Comment

    draft = OrderForm.objects.filter(tenant=world).order_by("-version").first()
    assert draft is not None
    subjects = [f"gate:{g.key}" for g in catalog.GATES] + [f"order-form:{draft.pk}", "order-form:0", "gate:"]
    client = login(who)

    @EACH
    @given(subject=st.one_of(st.sampled_from(subjects), texts), body=texts)
    def check(subject: str, body: str) -> None:
        data = {"subject": browser_text(subject), "body": browser_text(body)}
        before = Comment.objects.count(), history_rows()
        response = client.post("/launch-room/contoso/comments", data)
        assert_no_5xx(response, repr(data)[:300])
        if Comment.objects.count() == before[0]:
            assert history_rows() == before[1], data
        else:  # saved: only text that could be, and never after a refusal
            saved = Comment.objects.order_by("-pk").first()
            assert saved is not None and storable(saved.body) and saved.body.strip(), data
            assert response.status_code in (302, 303), data

    check()


@pytest.mark.parametrize("action", ["approve", "request-changes"])
def test_it_never_fails_on_a_generated_order_form_review(world: Tenant, action: str) -> None:
    draft = OrderForm.objects.filter(tenant=world).order_by("-version").first()
    assert draft is not None
    fields = ApproveOrderFormForm.base_fields if action == "approve" else RequestChangesForm.base_fields
    client = login("buyer-contoso")

    @EACH
    @given(data=st.fixed_dictionaries({}, optional={name: texts for name in fields}))
    def check(data: dict[str, str]) -> None:
        sent = {k: browser_text(v) for k, v in data.items()}
        before = OrderForm.objects.get(pk=draft.pk).status, history_rows()
        response = client.post(f"/launch-room/contoso/order-form/{action}", sent)
        assert_no_5xx(response, repr(sent)[:300])
        if refused(response):
            assert (OrderForm.objects.get(pk=draft.pk).status, history_rows()) == before, sent

    check()


@EACH
@given(head=key_like, mac=st.one_of(st.from_regex(r"[a-z2-7]{0,30}", fullmatch=True), texts))
def test_it_answers_404_to_a_generated_verification_code(head: str, mac: str) -> None:
    code = quote(f"{head}-{mac}".encode("utf-8", "surrogatepass"), safe="")
    response = Client().get(f"/verify/{code}")
    assert response.status_code == 404, (code, response.status_code)


AUTOCOMPLETE_ADD_FORMS = [
    ("/admin/launchroom/comment/add/", "operator", ("tenant", "order_form"), {"gate_key": "", "body": "A question"}),
    (
        "/admin/launchroom/incident/add/",
        "support",
        ("tenant",),
        {
            "severity": "sev3",
            "summary": "Slow pages",
            "customer_impact": "Pages load slowly",
            "notices-TOTAL_FORMS": "0",
            "notices-INITIAL_FORMS": "0",
        },
    ),
]


@pytest.mark.parametrize(("url", "who", "keys", "rest"), AUTOCOMPLETE_ADD_FORMS, ids=lambda v: str(v)[:30])
def test_it_answers_a_form_error_on_a_generated_autocomplete_value(
    world: Tenant, url: str, who: str, keys: tuple[str, ...], rest: dict[str, str]
) -> None:
    client = login(who)

    @EACH
    @given(values=st.fixed_dictionaries({name: key_like for name in keys}), other=st.one_of(st.none(), texts))
    def check(values: dict[str, str], other: str | None) -> None:
        data = {**rest, **{k: browser_text(v) for k, v in values.items()}}
        if other is not None:
            data["body" if "comment" in url else "summary"] = browser_text(other)
        valid_keys = {str(world.pk), *(str(pk) for pk in OrderForm.objects.filter(tenant=world).values_list("pk"))}
        before = history_rows()
        response = client.post(url, data)
        assert_no_5xx(response, repr(data)[:300])
        if any(v.strip() not in valid_keys for v in values.values()):
            assert response.status_code == 200 and history_rows() == before, data

    check()


# Confirmation pages: bound to what was previewed -----------------------------------------------


@dataclass(frozen=True)
class Confirmation:
    """A confirmation page: who posts a change that moves contoso's readiness, where, and what."""

    name: str
    user: str
    url: str  # {pk}: the tenant's id; {profile}: its billing profile
    change: Any  # (tenant) -> the posted change
    tenant: Any = None  # (contoso, staff) -> the tenant the change is made to; contoso by default

    def __str__(self) -> str:
        return self.name


def billing_change(tenant: Tenant) -> dict[str, Any]:
    profile = BillingProfile.objects.get(tenant=tenant)
    terms = {name: getattr(profile, name) for name in BillingProfile.TERMS_FIELDS}
    return {**{k: "" if v is None else v for k, v in terms.items()}, "seat_cap": 999, "_save": "Save"}


def evidence_change(tenant: Tenant) -> dict[str, Any]:
    from django.utils import timezone

    now = timezone.localtime()
    return {
        "tenant": tenant.pk,
        "requirement": "strict-proof-plan/production-proof-smoke",
        "output": "production-proof smoke: all passed",
        "captured_at_0": now.strftime("%Y-%m-%d"),
        "captured_at_1": now.strftime("%H:%M:%S"),
        "_save": "Save",
    }


CONFIRMATIONS = [
    Confirmation("billing profile", "finance", "/admin/billing/billingprofile/{profile}/change/", billing_change),
    Confirmation(
        "gate decision",
        "operator",
        "/admin/launchroom/tenant/{pk}/decide/",
        lambda tenant: {"apply": "1", "gate_key": "public-deployment", "decision": "rejected", "note": "Wrong."},
    ),
    Confirmation(
        "evidence replacement",
        "operator",
        "/admin/evidence/evidenceattachment/add/",
        evidence_change,
        lambda contoso, staff: stale_proof_plan(staff),  # replacing its stale smoke output moves gate 2
    ),
    Confirmation(
        "status broadcast",
        "support",
        "/admin/launchroom/supportplan/",
        lambda tenant: {"action": "status_broadcast", "_selected_action": [tenant.support_plan.pk]},
    ),
]


def readiness_now(tenant: Tenant) -> tuple[str, dict[str, str]]:
    from launchroom.readiness.evaluation import evaluate
    from launchroom.readiness.selectors import load

    readiness = evaluate(load(tenant, with_output=False))
    return readiness.decision, {g.gate.key: g.status for g in readiness.gates}


def replayed(response: Any) -> dict[str, list[str]]:
    """What a confirmation page posts back, its token included (``tests/confirming.py``)."""
    from tests.confirming import confirm_post

    assert response.status_code == 200 and 'name="confirm"' in response.content.decode(), response.content[:300]
    return confirm_post(response)


@pytest.mark.parametrize("page", CONFIRMATIONS, ids=str)
def test_it_never_fails_on_a_generated_confirmation(world: Tenant, staff: dict[str, Any], page: Confirmation) -> None:
    """Generated values, confirm buttons and tokens (none, made up, tampered with, another page's)
    posted to a confirmation page: never a 5xx, and nothing that moves readiness is saved unless
    the post is the page's own confirmation, unchanged."""
    from django.db import transaction

    from core.confirm import TOKEN

    def url(of: Confirmation, tenant: Tenant) -> str:
        profile = BillingProfile.objects.filter(tenant=tenant).values_list("pk", flat=True).first()
        return of.url.format(pk=tenant.pk, profile=profile)

    other_page = next(c for c in CONFIRMATIONS if c is not page and c.tenant is None)
    other = replayed(login(other_page.user).post(url(other_page, world), other_page.change(world)))
    tenant = world if page.tenant is None else page.tenant(world, staff)
    own = replayed(login(page.user).post(url(page, tenant), page.change(tenant)))
    token = own[TOKEN][0]
    tokens = st.one_of(
        st.just(token),
        st.just(other[TOKEN][0]),
        st.none(),
        texts,
        st.integers(0, len(token) - 1).map(lambda i: token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]),
    )
    names = sorted({*own, "tenant", "seat_cap", "decision", "note", "select_across"} - {TOKEN, "confirm"})

    @EACH
    @given(
        changes=st.dictionaries(st.sampled_from(names), st.one_of(texts, st.sampled_from(VALID)), max_size=2),
        sent_token=tokens,
        confirm=st.sampled_from(["Save anyway", "", "\x00", "1"]),
    )
    def check(changes: dict[str, str], sent_token: str | None, confirm: str) -> None:
        clean = {k: v.encode("utf-8", "replace").decode("utf-8", "replace") for k, v in changes.items()}
        data: dict[str, Any] = {**own, **{k: [v] for k, v in clean.items()}, "confirm": [confirm]}
        if sent_token is None:
            data.pop(TOKEN)
        else:
            data[TOKEN] = [sent_token.encode("utf-8", "replace").decode("utf-8", "replace")]
        genuine = sent_token == token and all(own.get(k) == [v] for k, v in clean.items())
        with transaction.atomic():
            before, rows = readiness_now(tenant), history_rows()
            response = login(page.user).post(url(page, tenant), data)
            assert_no_5xx(response, f"{page} {data!r}"[:300])
            if not genuine:
                assert readiness_now(tenant) == before, (page.name, data)
                if response.status_code == 200:  # shown again (the preview, or the form's errors)
                    assert history_rows() == rows, (page.name, data)
            transaction.set_rollback(True)

    check()
