"""seed_demo refuses to run with DEBUG off unless forced (on an empty database), and, forced,
works under real production settings (a fresh process on a SQLite file)."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from launchroom.models import Tenant
from tests.test_hardening import production_env, run

pytestmark = pytest.mark.django_db


def test_it_refuses_with_debug_off_unless_forced(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--force"):
        call_command("seed_demo")
    assert not Tenant.objects.exists()
    call_command("seed_demo", "--force", stdout=StringIO())
    assert Tenant.objects.count() == 4


@pytest.mark.slow
def test_it_seeds_under_real_production_settings_once_static_files_are_collected(tmp_path):
    """A fresh process with what production sets (DEBUG off, its own host name only, behind a
    TLS proxy): the in-process proofs ask for an allowed host over HTTPS, so every check runs;
    without collected static files the seed stops at once and names the step."""
    env = production_env(
        tmp_path,
        SECURE_PROXY_SSL_HEADER="1",
        SECURE_SSL_REDIRECT="1",
        PORTAL_BASE_URL="https://portal.example",
        STATIC_ROOT=str(tmp_path / "static"),
    )
    assert run(["manage.py", "migrate", "-v0"], env).returncode == 0
    migrated = counts(env)

    missing = run(["manage.py", "seed_demo", "--force"], env)
    assert missing.returncode != 0
    assert "collectstatic" in missing.stderr and "Traceback" not in missing.stderr
    assert "checks failed" not in missing.stderr
    assert counts(env) == migrated, "it stops before creating anything"

    assert run(["manage.py", "collectstatic", "--noinput", "-v0"], env).returncode == 0
    seeded = run(["manage.py", "seed_demo", "--force"], env)
    assert seeded.returncode == 0, seeded.stderr[-3000:]
    assert "checks failed" not in seeded.stderr
    assert counts(env)[1] == 4


def counts(env: dict[str, str]) -> tuple[int, int]:
    """(users, tenants) in the production database, as a fresh process reads them."""
    script = (
        "from django.contrib.auth import get_user_model; from launchroom.models import Tenant; "
        "print(get_user_model().objects.count(), Tenant.objects.count())"
    )
    users, tenants = run(["manage.py", "shell", "--no-imports", "-c", script], env).stdout.split()[-2:]
    return int(users), int(tenants)
