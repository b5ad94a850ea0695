"""seed_demo builds the four demo tenants once, and a second run changes nothing but what it
must. The module seeds once (the first run); each test is a later run, rolled back after it.
The refusal in production, which needs an empty database, is in test_seed_demo_production.py."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test.utils import override_settings

from evidence.models import EvidenceAttachment
from launchroom.gates.readiness import evaluate
from launchroom.models import AcceptanceRecord, GateDecision, StageChange, Tenant
from tests.launch_helpers import module_state

pytestmark = pytest.mark.django_db


def first_run() -> None:
    with override_settings(DEBUG=True):
        call_command("seed_demo", stdout=StringIO())


_seeded = module_state(first_run)


def counts():
    return {
        model.__name__: model.objects.count()
        for model in [Tenant, GateDecision, AcceptanceRecord, StageChange, EvidenceAttachment, get_user_model()]
    }


def test_it_is_idempotent(settings):
    settings.DEBUG = True
    first = counts()
    assert first["Tenant"] == 4
    call_command("seed_demo", stdout=StringIO())
    assert counts() == first


def test_it_builds_the_states_of_spec_section_8():
    stages = dict(Tenant.objects.values_list("slug", "stage"))
    assert stages == {"northwind": "setup", "contoso": "setup", "globex": "paid_beta", "initech": "private_beta"}
    contoso = evaluate(Tenant.objects.get(slug="contoso"))
    assert (contoso.stage, contoso.decision) == ("paid_beta", "hold")
    assert [g.gate.key for g in contoso.unmet_gates] == ["customer-acceptance"]
    assert evaluate(Tenant.objects.get(slug="globex"), "paid_beta").is_go
    initech = Tenant.objects.get(slug="initech")
    assert evaluate(initech, "private_beta").is_go
    assert not evaluate(initech, "paid_beta").is_go
    northwind = evaluate(Tenant.objects.get(slug="northwind"))
    assert (northwind.stage, northwind.decision) == ("private_beta", "hold")
    users = set(get_user_model().objects.values_list("username", flat=True))
    assert {
        "operator",
        "commercial",
        "finance",
        "security",
        "support",
        "buyer-northwind",
        "buyer-contoso",
        "buyer-globex",
        "buyer-initech",
    } <= users
    assert get_user_model().objects.get(username="operator").is_superuser


def test_it_keeps_passwords_on_a_restart_unless_asked_to_reset_them(settings):
    settings.DEBUG = True
    user = get_user_model().objects.get(username="buyer-contoso")
    user.set_password("my-own-password-42")
    user.save()
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert get_user_model().objects.get(username="buyer-contoso").check_password("my-own-password-42")
    assert "finance-contoso" in out.getvalue()
    call_command("seed_demo", "--reset-passwords", stdout=StringIO())
    assert get_user_model().objects.get(username="buyer-contoso").check_password("demo")


def test_it_adds_the_finance_contoso_user_to_an_existing_demo(settings):
    settings.DEBUG = True
    get_user_model().objects.filter(username="finance-contoso").delete()
    call_command("seed_demo", stdout=StringIO())
    finance = get_user_model().objects.get(username="finance-contoso")
    assert finance.check_password("demo")
    assert finance.memberships.get().role == "buyer_finance"
