"""Bad input answers 400, never 500, and saves nothing.

On PostgreSQL a NUL character, a lone surrogate or a value longer than its column made
the database raise (a 500); on SQLite the same values were stored. The same tests run on
both databases (CI runs the suite again on PostgreSQL); the ``postgres`` ones say so.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client

from core.validation import MAX_JSON_DEPTH, parse_json, slug_problem, text_problem
from launchroom.acceptance.services import acceptance_sign
from launchroom.models import AcceptanceRecord, DecisionLogEntry
from tests.factories import ready_tenant
from tests.launch_helpers import api_body, buyer

pytestmark = pytest.mark.django_db

URL = "/api/platform/launch-acceptance"

BAD_STRINGS = {
    "nul": "Carlos\u0000Conti",
    "surrogate": "Carlos \ud800 Conti",
    "control": "Carlos\u0007Conti",
    "too_long": "C" * 201,
}


def patch(client: Client, body: Any, **extra: Any) -> Any:
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.patch(URL, data, content_type="application/json", **extra)


def saved() -> tuple[int, int, int]:
    return AcceptanceRecord.objects.count(), DecisionLogEntry.objects.count(), AcceptanceRecord.history.count()


@pytest.fixture
def contoso(client: Client, db: None) -> Any:
    """Every gate met for paid beta but the buyer's acceptance; its buyer sponsor logged in."""
    tenant = ready_tenant("contoso")
    client.force_login(buyer("contoso"))
    return tenant


@pytest.mark.parametrize("kind", sorted(BAD_STRINGS))
@pytest.mark.parametrize("field", ["signer_name", "signer_role", "approval_reference", "note", "affirmation"])
def test_it_answers_400_to_a_string_that_cannot_be_stored(client: Client, contoso: Any, field: str, kind: str) -> None:
    value = BAD_STRINGS[kind]
    if kind == "too_long":
        value = "C" * {"approval_reference": 121, "note": 10_001, "affirmation": 10_001}.get(field, 201)
    before = saved()
    response = patch(client, api_body(contoso, **{field: value}))
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert saved() == before


@pytest.mark.parametrize("kind", sorted(BAD_STRINGS))
@pytest.mark.parametrize("field", ["exclusions", "residual_risks"])
def test_it_answers_400_to_a_list_entry_that_cannot_be_stored(
    client: Client, contoso: Any, field: str, kind: str
) -> None:
    value = "x" * 1001 if kind == "too_long" else BAD_STRINGS[kind]
    body = api_body(contoso)
    body[field] = [*body[field], value]
    before = saved()
    response = patch(client, body)
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert saved() == before


@pytest.mark.parametrize("slug", ["con\u0000toso", "con\ud800toso", "c" * 61, "con toso", "../contoso"])
def test_it_answers_400_to_a_tenant_that_cannot_be_a_slug_before_looking_it_up(
    client: Client, contoso: Any, slug: str
) -> None:
    before = saved()
    response = patch(client, {**api_body(contoso), "tenant": slug})
    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == ["tenant"]
    # A client can send any bytes: a surrogate arrives UTF-8-encoded as it is (surrogatepass).
    listing = client.get(f"{URL}?tenant={quote(slug.encode('utf-8', 'surrogatepass'))}")
    assert listing.status_code == 400, listing.content
    assert list(listing.json()["errors"]) == ["tenant"]
    assert saved() == before


def test_it_answers_400_to_json_nested_thousands_deep(client: Client, contoso: Any) -> None:
    before = saved()
    for depth in (MAX_JSON_DEPTH + 1, 5000, 100_000):
        nested = "[" * depth + "]" * depth
        for body in (nested, f'{{"tenant": "contoso", "note": {nested}}}'):
            response = patch(client, body)
            assert response.status_code == 400, (depth, response.content)
            assert "nested deeper" in response.json()["errors"]["__all__"][0]
    assert saved() == before


def test_it_answers_400_to_evidence_ids_no_column_can_hold(client: Client, contoso: Any) -> None:
    before = saved()
    for refs in ([2**63], [{"id": 2**70}], [-1], list(range(1, 2000))):
        response = patch(client, api_body(contoso, evidence_references=refs))
        assert response.status_code == 400, response.content
        assert "evidence_references" in response.json()["errors"]
    assert saved() == before


def test_it_still_signs_with_line_breaks_in_a_note_and_unicode_names(client: Client, contoso: Any) -> None:
    response = patch(client, api_body(contoso, signer_name="Zoë Ørsted-Łukasz 山田", note="First line.\nSecond line."))
    assert response.status_code == 201, response.content
    assert AcceptanceRecord.objects.get().signer_name == "Zoë Ørsted-Łukasz 山田"


def test_it_refuses_bad_text_in_the_service_itself(contoso: Any) -> None:
    from django.core.exceptions import ValidationError

    before = saved()
    with pytest.raises(ValidationError) as refused:
        acceptance_sign(
            tenant=contoso,
            stage="paid_beta",
            decision="deferred",
            signer_name="Carlos\u0000",
            signer_role="R" * 201,
            recorded_by=buyer("contoso"),
            residual_risks=["\ud800"],
        )
    assert set(refused.value.message_dict) == {"signer_name", "signer_role", "residual_risks"}
    assert saved() == before


@pytest.mark.postgres
def test_it_answers_400_not_500_on_postgresql(client: Client, contoso: Any) -> None:
    """The values PostgreSQL itself refuses, all in one run against the real database."""
    before = saved()
    for body in (
        api_body(contoso, signer_name="\u0000"),
        api_body(contoso, note="\ud800"),
        api_body(contoso, signer_role="r" * 201),
        api_body(contoso, residual_risks=["\u0000"]),
        {**api_body(contoso), "tenant": "contoso\u0000"},
    ):
        assert patch(client, body).status_code == 400
    assert client.get(URL, {"tenant": "\u0000"}).status_code == 400
    assert client.get(f"{URL}?tenant=%ED%A0%80").status_code == 400
    assert saved() == before


def test_it_names_the_problem_with_a_text() -> None:
    assert text_problem("fine\nlines", multiline=True) == ""
    assert "NUL" in text_problem("a\x00b", multiline=True)
    assert "surrogate" in text_problem("\udfff")
    assert "control character (U+000A)" in text_problem("a\nb")
    assert "at most 60" in slug_problem("s" * 61, max_length=60)
    with pytest.raises(ValueError, match="nested deeper"):
        parse_json("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1))
    assert parse_json('{"a": [1]}') == {"a": [1]}
