"""The staff portfolio, HTML and CSV, is never kept by a browser or shared cache."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ["launchroom:index", "launchroom:portfolio_csv"])
def test_it_marks_the_portfolio_private_and_no_store(client: Client, staff: dict[str, Any], name: str) -> None:
    client.force_login(staff["operator"])
    response = client.get(reverse(name), {"stage": "setup"})
    assert response.status_code == 200
    directives = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"private", "no-store"} <= directives


def test_it_marks_the_buyer_room_the_same_way(client: Client) -> None:
    from tests.factories import ready_tenant
    from tests.launch_helpers import buyer

    ready_tenant("contoso")
    client.force_login(buyer("contoso"))
    response = client.get("/launch-room/contoso/")
    assert {"private", "no-store"} <= {part.strip() for part in response["Cache-Control"].split(",")}
