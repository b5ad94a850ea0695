"""Issue 10: structured JSON logs. Each decision, refusal, failed login, API token use and
proof run is one JSON line on ``thesmios.events``, with the request id and no secrets."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from core.events import log_event
from launchroom.proofs.smoke import SmokeRun
from tests.factories import TenantFactory, attach_gate, draft_tenant, ready_tenant
from tests.launch_helpers import api_body, buyer

pytestmark = pytest.mark.django_db


class Lines:
    def __init__(self, stream: io.StringIO):
        self.stream = stream

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        found = [json.loads(line) for line in self.text.splitlines() if line.strip()]
        return [e for e in found if e.get("logger") == "thesmios.events" and (name is None or e["event"] == name)]


@pytest.fixture
def northwind(db: None) -> Any:
    """A draft order form: hold."""
    return draft_tenant("northwind")


@pytest.fixture
def contoso(db: None) -> Any:
    """Every gate met for paid beta but the buyer's acceptance."""
    return ready_tenant("contoso")


@pytest.fixture
def globex(db: None) -> Any:
    """Signed for paid beta (order form v1 signed) and moved into it."""
    return ready_tenant("globex", sign_for="paid_beta", live=True)


@pytest.fixture
def logged() -> Iterator[Lines]:
    """What the configured handler writes (JSON: LOG_FORMAT's default with DEBUG off)."""
    handler = next(h for h in logging.getLogger("thesmios.events").handlers if h.name == "console")
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        yield Lines(stream)
    finally:
        handler.setStream(previous)


def test_it_logs_a_gate_decision_as_json_with_the_request_id(client, staff, logged, django_capture_on_commit_callbacks):
    tenant = TenantFactory(slug="acme", name="Acme")
    attach_gate(tenant, "strict-proof-plan")
    client.force_login(staff["operator"])
    request_id = uuid.uuid4().hex
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/admin/launchroom/tenant/{tenant.pk}/decide/",
            {"apply": "1", "gate_key": "strict-proof-plan", "decision": "accepted", "note": "Proof JSON reviewed."},
            HTTP_CORRELATION_ID=request_id,
        )
    assert response.status_code == 302
    assert response["Correlation-ID"] == request_id
    [event] = logged.events("gate_decision")
    assert event["request_id"] == request_id
    assert event["tenant"] == "acme"
    assert event["actor"] == "operator"
    assert event["outcome"] == "recorded"
    assert event["decision"] == "accepted"
    assert event["gate"] == "strict-proof-plan"
    assert event["level"] == "INFO"
    assert "time" in event


def test_it_gives_each_request_its_own_id_and_refuses_a_forged_one(client, staff, logged):
    tenant = TenantFactory(slug="acme", name="Acme")
    client.force_login(staff["operator"])
    url = f"/admin/launchroom/tenant/{tenant.pk}/decide/"
    data = {"apply": "1", "gate_key": "strict-proof-plan", "decision": "accepted", "note": "Looks fine."}
    client.post(url, data)
    client.post(url, data, HTTP_CORRELATION_ID='evil"\n{"forged": true}')
    first, second = logged.events("gate_decision")
    assert first["outcome"] == second["outcome"] == "refused"
    assert "Production proof JSON is missing" in " ".join(first["reasons"])
    assert first["request_id"] != second["request_id"]
    assert all(len(e["request_id"]) == 32 for e in (first, second))
    assert "forged" not in logged.text


def test_it_logs_token_use_and_the_acceptance_without_the_token(
    client, logged, django_capture_on_commit_callbacks, contoso
):
    from launchroom.models import ApiToken

    tenant = contoso
    key = ApiToken.generate_key()
    ApiToken.objects.create(user=buyer("contoso"), name="ci", prefix=key[:12], key_sha256=ApiToken.hash_key(key))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.patch(
            "/api/platform/launch-acceptance",
            json.dumps(api_body(tenant)),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {key}",
        )
    assert response.status_code == 201, response.content
    request_id = response["Correlation-ID"]
    [token_use] = logged.events("api_token_use")
    [decision] = logged.events("acceptance_decision")
    assert token_use["actor"] == decision["actor"] == "buyer-contoso"
    assert token_use["outcome"] == "accepted"
    assert decision["tenant"] == "contoso"
    assert decision["outcome"] == "recorded"
    assert decision["decision"] == "accepted"
    assert token_use["request_id"] == decision["request_id"] == request_id
    assert key not in logged.text
    assert key[5:] not in logged.text

    client.get("/api/platform/tenants/contoso/readiness", HTTP_AUTHORIZATION="Bearer thes_wrong-key-material")
    assert logged.events("api_token_use")[-1]["outcome"] == "refused"
    assert "wrong-key-material" not in logged.text


def test_it_logs_a_failed_login_without_the_password(client, staff, logged):
    client.post("/accounts/login/", {"username": "finance", "password": "hunter2-not-the-password"})
    [event] = logged.events("login_failed")
    assert event["actor"] == "finance"
    assert event["outcome"] == "refused"
    assert event["client_address"] == "127.0.0.1"
    assert event["request_id"]
    assert "hunter2" not in logged.text


def test_it_logs_a_proof_run_without_credentials_in_the_url(logged):
    run = SmokeRun(base_url="https://ops:s3cret-pass@portal.example/", command="launch_proof_bundle")
    run.check("nothing to do", lambda: "ok")
    run.report()
    [event] = logged.events("proof_run")
    assert event["command"] == "launch_proof_bundle"
    assert event["host"] == "portal.example"
    assert event["outcome"] == "passed"
    assert event["passed"] == 1
    assert "s3cret" not in logged.text


def test_it_drops_fields_named_like_secrets_or_evidence(logged):
    log_event(
        "example",
        password="p4ss",
        api_token="t0ken",
        otp_code="123456",
        evidence_content="the file",
        smoke_output="raw output",
        secret_key="k3y",
        note="kept",
        message="renamed, not clobbering the log message",
    )
    [event] = logged.events("example")
    assert event["note"] == "kept"
    assert event["message"] == "example"
    assert event["message_"] == "renamed, not clobbering the log message"
    for secret in ("p4ss", "t0ken", "123456", "the file", "raw output", "k3y"):
        assert secret not in logged.text


def test_it_shows_the_fields_in_plain_text_logs_too() -> None:
    from core.events import RequestIdFilter, TextFormatter, event_fields

    formatter = TextFormatter("%(levelname)s [%(request_id)s] %(name)s: %(message)s")
    record = logging.makeLogRecord(
        {
            "name": "thesmios.events",
            "levelname": "INFO",
            "msg": "gate_decision",
            **event_fields("gate_decision", {"tenant": "acme", "password": "p4ss"}),
        }
    )
    RequestIdFilter().filter(record)
    assert formatter.format(record) == "INFO [None] thesmios.events: gate_decision tenant='acme'"


# Every refusal of a write is an event, the view's own as well as the service's ---------------


def patch(client: Any, body: Any, **headers: Any) -> Any:
    data = body if isinstance(body, str) else json.dumps(body)
    return client.patch("/api/platform/launch-acceptance", data, content_type="application/json", **headers)


def test_it_logs_each_refusal_the_acceptance_api_decides_before_the_service(client, logged, contoso):
    from tests.launch_helpers import member

    tenant = contoso
    anonymous = patch(client, api_body(tenant))
    client.force_login(member(tenant, "viewer-contoso"))
    not_the_signer = patch(client, api_body(tenant))
    client.force_login(buyer("contoso"))
    no_tenant = patch(client, {**api_body(tenant), "tenant": "nope"})
    bad_fields = patch(client, api_body(tenant, signer_name="", colour="s3cret-colour"))
    broken = patch(client, '{"tenant": "contoso", ')
    assert [r.status_code for r in (anonymous, not_the_signer, no_tenant, bad_fields, broken)] == [
        401,
        403,
        404,
        400,
        400,
    ]

    events = logged.events("acceptance_decision")
    assert [(e["outcome"], e["status"], e["actor"]) for e in events] == [
        ("unauthenticated", 401, None),
        ("not_permitted", 403, "viewer-contoso"),
        ("not_found", 404, "buyer-contoso"),
        ("invalid", 400, "buyer-contoso"),
        ("invalid", 400, "buyer-contoso"),
    ]
    assert [e["tenant"] for e in events] == ["contoso", "contoso", "nope", "contoso", None]
    assert events[1]["error"] == "forbidden" and events[1]["reasons"] == not_the_signer.json()["reasons"]
    assert events[3]["invalid_fields"] == ["colour", "signer_name"]
    assert "s3cret-colour" not in logged.text  # field names, never what was sent
    assert all(e["method"] == "PATCH" and e["request_id"] for e in events)


def test_it_logs_a_refusal_of_the_service_once(client, logged, django_capture_on_commit_callbacks, northwind, contoso):
    tenant = northwind
    client.force_login(buyer("northwind"))
    assert patch(client, api_body(tenant)).status_code == 409
    [event] = logged.events("acceptance_decision")
    assert (event["outcome"], event["service"]) == ("refused", "acceptance_sign")

    contoso = contoso
    client.force_login(buyer("contoso"))
    with django_capture_on_commit_callbacks(execute=True):
        assert patch(client, api_body(contoso)).status_code == 201
    assert [e["outcome"] for e in logged.events("acceptance_decision")] == ["refused", "recorded"]
    client.get("/api/platform/launch-acceptance?tenant=nope")  # a read: no decision event
    assert len(logged.events("acceptance_decision")) == 2


def test_it_logs_a_refusal_of_the_launch_room_forms_before_their_service(client, logged, contoso):
    from tests.launch_helpers import member, sign_form

    tenant = contoso
    client.force_login(member(tenant, "viewer-contoso"))
    assert client.post("/launch-room/contoso/sign", sign_form(tenant)).status_code == 403
    assert client.post("/launch-room/contoso/billing-fallback", {"name": "Vic"}).status_code == 403
    client.force_login(buyer("contoso"))
    assert client.post("/launch-room/contoso/sign", {**sign_form(tenant), "decision": ""}).status_code == 400
    signed = logged.events("acceptance_decision")
    assert [(e["outcome"], e["actor"], e["tenant"]) for e in signed] == [
        ("not_permitted", "viewer-contoso", "contoso"),
        ("invalid", "buyer-contoso", "contoso"),
    ]
    [fallback] = logged.events("billing_fallback_accept")
    assert (fallback["outcome"], fallback["actor"], fallback["status"]) == ("not_permitted", "viewer-contoso", 403)


def test_it_logs_the_buyers_order_form_review_and_its_refusals(
    client, staff, logged, django_capture_on_commit_callbacks, globex
):
    """The buyer's answer to an order form is a decision: recorded, refused by the service
    (nothing under review), or refused before it (a viewer; a name too long for its field)."""
    from launchroom.models import OrderForm
    from launchroom.orderforms.services import order_form_revise, order_form_send
    from tests.launch_helpers import member

    tenant = globex
    approve = "/launch-room/globex/order-form/approve"
    client.force_login(member(tenant, "viewer-globex"))
    assert client.post(approve, {"name": "Vic Viewer", "role": "Viewer"}).status_code == 403
    client.force_login(buyer("globex"))
    assert client.post(approve, {"name": "x" * 500, "role": "CPO"}).status_code == 400
    assert client.post(approve, {"name": "Grace Gallagher", "role": "CPO"}).status_code == 409  # v1 is signed
    v2 = order_form_revise(order_form=OrderForm.objects.get(tenant=tenant), by=staff["commercial"], cohort_size=200)
    order_form_send(order_form=v2, by=staff["commercial"])
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(approve, {"name": "Grace Gallagher", "role": "CPO"}).status_code == 302
    outcomes = [(e["outcome"], e["actor"], e["tenant"]) for e in logged.events("order_form_review")]
    assert outcomes == [
        ("not_permitted", "viewer-globex", "globex"),
        ("invalid", "buyer-globex", "globex"),
        ("refused", "buyer-globex", "globex"),
        ("recorded", "buyer-globex", "globex"),
    ]
