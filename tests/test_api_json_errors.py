"""Every answer under /api/ is JSON, errors included."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import path

from launchroom.models import AcceptanceRecord
from tests.factories import ready_tenant
from tests.launch_helpers import api_body, buyer
from thesmios import urls as project_urls

pytestmark = pytest.mark.django_db

URL = "/api/platform/launch-acceptance"


@pytest.fixture
def contoso(db: None) -> Any:
    """Every gate met for paid beta but the buyer's acceptance."""
    return ready_tenant("contoso")


def assert_json(response: Any, status: int, error: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    data = json.loads(response.content)
    assert isinstance(data, dict)
    if error is not None:
        assert data["error"] == error
    return data


def test_it_answers_an_anonymous_patch_with_a_json_401_even_with_csrf_checks(contoso: Any) -> None:
    tenant = contoso
    strict = Client(enforce_csrf_checks=True)
    response = strict.patch(URL, json.dumps(api_body(tenant)), content_type="application/json")
    assert_json(response, 401, "authentication_required")
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert not AcceptanceRecord.objects.exists()


def test_it_answers_a_session_patch_without_its_csrf_token_with_a_json_403(contoso: Any) -> None:
    tenant = contoso
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(buyer("contoso"))
    response = strict.patch(URL, json.dumps(api_body(tenant)), content_type="application/json")
    assert_json(response, 403, "csrf_failed")
    assert not AcceptanceRecord.objects.exists()


@pytest.mark.parametrize(
    "url",
    ["/api/no-such", "/api/platform/no-such", "/api/platform/tenants/no-such/readiness/x", "/api/product/nothing"],
)
def test_it_answers_404_under_api_as_json(client: Client, url: str) -> None:
    assert_json(client.get(url), 404, "not_found")


def test_it_keeps_html_404_pages_outside_api(client: Client) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    "url",
    ["/api/product/managed-beta-readiness", "/api/product/security-assurance", "/api/platform/tenants/x/readiness"],
)
def test_it_answers_other_methods_under_api_with_a_json_405(client: Client, url: str) -> None:
    strict = Client(enforce_csrf_checks=True)
    for method in ("post", "put", "delete"):
        response = getattr(strict, method)(url)
        assert_json(response, 405, "method_not_allowed")
        assert "GET" in response["Allow"]


def test_it_answers_a_post_without_csrf_token_under_api_with_json(client: Client, staff: dict[str, Any]) -> None:
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(staff["operator"])
    assert_json(strict.post(URL, {}), 403, "csrf_failed")


def explode(request: Any) -> Any:
    raise RuntimeError("boom")


# A URLconf like the project's, with one view that fails: the 500 handler is the project's.
urlpatterns = [path("api/platform/explode", explode), path("explode", explode), *project_urls.urlpatterns]
handler500 = project_urls.handler500


@pytest.mark.urls(__name__)
def test_it_answers_500_under_api_as_json(staff: dict[str, Any]) -> None:
    assert project_urls.handler500 == "core.errorpages.server_error"
    client = Client(raise_request_exception=False)
    data = assert_json(client.get("/api/platform/explode"), 500, "server_error")
    assert "boom" not in json.dumps(data)
    page = client.get("/explode")
    assert page.status_code == 500
    assert page["Content-Type"].startswith("text/html")
