"""seed_demo refuses to run with DEBUG off unless forced (on an empty database)."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from launchroom.models import Tenant

pytestmark = pytest.mark.django_db


def test_it_refuses_with_debug_off_unless_forced(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--force"):
        call_command("seed_demo")
    assert not Tenant.objects.exists()
    call_command("seed_demo", "--force", stdout=StringIO())
    assert Tenant.objects.count() == 4
