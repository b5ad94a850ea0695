"""One status vocabulary (core/status.py): one label and one colour per status, everywhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse

from core import status
from launchroom import catalog
from launchroom.acceptance.services import acceptance_sign
from launchroom.models import AcceptanceDecision, GateDecisionKind, OrderFormStatus
from launchroom.readiness import projection
from launchroom.readiness.evaluation import STATUS_LABELS
from tests.factories import EvidenceAttachmentFactory, draft_tenant, ready_tenant
from tests.launch_helpers import buyer

STATUS_CSS = Path(__file__).resolve().parents[1] / "static" / "css" / "status.css"


def badge_of(key: str) -> str:
    return f'<span class="status status--{key}">{status.label(key)}</span>'


def tone_rules() -> dict[str, set[str]]:
    """The colour rule of each tone in status.css: tone -> the status classes it colours."""
    rules: dict[str, set[str]] = {}
    for tone, selectors in re.findall(r"/\* tone: (\w+) \*/\n([^{]+)\{", STATUS_CSS.read_text()):
        rules[tone] = set(re.findall(r"\.status--(\w+)", selectors))
    return rules


def test_it_gives_every_status_exactly_one_colour_the_colour_of_its_tone():
    rules = tone_rules()
    assert set(rules) == {t.value for t in status.Tone}
    for key, entry in status.ALL.items():
        holders = [tone for tone, keys in rules.items() if key in keys]
        assert holders == [entry.tone.value], f"{key} is coloured by {holders}, its tone is {entry.tone}"
    for tone, keys in rules.items():
        assert keys - {tone} <= set(status.ALL), f"status.css colours unknown statuses {keys - set(status.ALL)}"


def test_it_gives_the_same_key_the_same_label_in_every_vocabulary():
    for vocabulary in status.VOCABULARIES.values():
        for key, entry in vocabulary.items():
            assert status.ALL[key] == entry


def test_it_covers_every_status_the_spec_names():
    assert set(status.READINESS) == {"missing", "stale", "ready_for_review", "rejected", "accepted"}
    assert set(status.DECISION) == {"go", "hold"}
    assert set(status.ACCEPTANCE) == set(AcceptanceDecision.values)
    assert set(status.ORDER_FORM) == set(OrderFormStatus.values)
    assert set(status.GATE_DECISION) == set(GateDecisionKind.values)


@pytest.mark.parametrize(
    ("vocabulary", "choices"),
    [
        (status.ACCEPTANCE, AcceptanceDecision),
        (status.ORDER_FORM, OrderFormStatus),
        (status.GATE_DECISION, GateDecisionKind),
    ],
)
def test_it_uses_the_models_words_for_their_statuses(vocabulary, choices):
    assert {key: entry.label for key, entry in vocabulary.items()} == dict(choices.choices)


def test_it_labels_readiness_statuses_from_the_vocabulary():
    assert {key: status.label(key) for key in STATUS_LABELS} == STATUS_LABELS


def test_it_shows_an_unknown_status_in_words_and_grey():
    assert str(status.badge("on_fire")) == '<span class="status status--neutral">On fire</span>'
    assert str(status.badge("<b>")) == '<span class="status status--neutral">&lt;b&gt;</span>'


@pytest.mark.django_db
def compact_cell(number: int, value: str) -> str:
    gate = next(g for g in catalog.GATES if g.number == number)
    return f'status--{value}" title="Gate {number} ({gate.title}): {status.label(value)}"'


def test_it_renders_the_same_label_and_class_in_the_room_and_the_admin(client, staff):
    tenant = ready_tenant("contoso")
    acceptance_sign(
        tenant=tenant,
        stage="paid_beta",
        decision="deferred",
        signer_name="Carlos Conti",
        signer_role="Head of compliance operations",
        recorded_by=buyer("contoso"),
        residual_risks=["Waiting for procurement"],
    )
    client.force_login(staff["operator"])
    room = client.get(reverse("launchroom:room", args=[tenant.slug])).content.decode()
    tenant_page = client.get(f"/admin/launchroom/tenant/{tenant.pk}/change/").content.decode()
    acceptance_list = client.get("/admin/launchroom/acceptancerecord/").content.decode()
    order_forms = client.get("/admin/launchroom/orderform/").content.decode()
    dashboard = client.get(reverse("launchroom:index")).content.decode()

    # A deferred acceptance: the same words and colour in the room and in the admin.
    assert badge_of("deferred") in room
    assert badge_of("deferred") in acceptance_list
    assert status.ACCEPTANCE["deferred"].tone == status.Tone.WARN
    # Gate 9 reads "rejected" while the buyer defers; the room, the tenant page and the
    # portfolio show it alike, and the decision that follows (hold) too.
    for page in (room, tenant_page):
        assert badge_of("rejected") in page
        assert badge_of("accepted") in page
    # The portfolio's compact cells: the same class, the vocabulary's label in the title.
    assert compact_cell(9, "rejected") in dashboard
    assert 'status--accepted" title="Gate 3 (Customer order-form scope): Accepted"' in dashboard
    assert f'data-testid="decision">{status.label("hold")}<' in room
    assert badge_of("hold") in tenant_page
    assert badge_of("hold") in dashboard
    # The signed order form.
    assert badge_of("signed") in room
    assert badge_of("signed") in order_forms


@pytest.mark.django_db
def test_it_renders_missing_and_ready_for_review_alike_in_room_admin_and_dashboard(client, staff):
    # A draft order form (gate 3 missing) and gate 1's evidence, not yet decided.
    tenant = draft_tenant("northwind")
    for requirement in catalog.GATES_BY_KEY["public-deployment"].attachment_requirements:
        EvidenceAttachmentFactory(tenant=tenant, gate_key="public-deployment", requirement_key=requirement.key)
    projection.refresh()  # the stored row the portfolio reads, as refresh_readiness writes it
    client.force_login(staff["operator"])
    pages = [
        client.get(reverse("launchroom:room", args=[tenant.slug])).content.decode(),
        client.get(f"/admin/launchroom/tenant/{tenant.pk}/change/").content.decode(),
        client.get(reverse("launchroom:index")).content.decode(),
    ]
    for page in pages[:2]:
        assert badge_of("missing") in page
        assert badge_of("ready_for_review") in page
    assert 'status--missing" title="Gate 3 (Customer order-form scope): Missing"' in pages[2]
    assert f': {status.label("ready_for_review")}"' in pages[2]


@pytest.mark.django_db
def test_it_shows_the_public_decision_words_from_the_vocabulary(client):
    body = client.get("/managed-beta").content.decode()
    assert badge_of("go") in body
    assert badge_of("hold") in body
