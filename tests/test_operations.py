"""Issue 10, operations: production refuses SQLite at `check --deploy`, persistent database
connections, log format and two-factor defaults. Settings are read in a subprocess with only
what production sets (tests/test_hardening.py's helpers)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_hardening import SETTINGS_DUMP, production_env, production_settings, run

POSTGRES_URL = "postgres://thesmios@db.invalid:5432/thesmios"


def test_it_fails_the_deploy_check_on_sqlite_naming_database_url(tmp_path: Path) -> None:
    result = run(["manage.py", "check", "--deploy"], production_env(tmp_path))
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "thesmios.E001" in output
    assert "SQLite while DEBUG is off" in output
    assert "Set DATABASE_URL to a PostgreSQL database" in output
    assert "row locks" in output


@pytest.mark.django_db(transaction=True)  # SQLite copies a database outside a transaction only
def test_it_still_runs_local_commands_on_sqlite(tmp_path: Path) -> None:
    """A deploy check, not a refusal to start: `check` without --deploy and migrate run.

    On SQLite, migrate runs on a copy of the migrated test database (a fresh migrate takes 7
    to 15 seconds of CPU: it was the suite's longest test); PostgreSQL runs migrate from nothing
    here, with DEBUG off."""
    from django.db import connection

    env = production_env(tmp_path)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM INTO %s", [str(tmp_path / "production.sqlite3")])
    assert run(["manage.py", "check"], env).returncode == 0
    result = run(["manage.py", "migrate", "--noinput"], env)
    assert result.returncode == 0, result.stderr
    assert "Operations to perform" in result.stdout


def test_it_passes_the_sqlite_check_in_debug(tmp_path: Path) -> None:
    result = run(["manage.py", "check", "--deploy"], production_env(tmp_path, DEBUG="1"))
    assert "thesmios.E001" not in result.stdout + result.stderr


def test_it_passes_the_deploy_check_on_postgresql(tmp_path: Path) -> None:
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        production_env(tmp_path, DATABASE_URL=POSTGRES_URL),
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_it_keeps_database_connections_in_production(tmp_path: Path) -> None:
    s = production_settings(tmp_path, "DATABASES")
    assert s["DATABASES"]["default"]["CONN_MAX_AGE"] == 60
    assert s["DATABASES"]["default"]["CONN_HEALTH_CHECKS"] is True


def test_it_opens_a_connection_per_request_in_debug_and_reads_the_variable(tmp_path: Path) -> None:
    env = production_env(tmp_path, DEBUG="1", DUMP='["DATABASES"]')
    debug = json.loads(run(["-c", SETTINGS_DUMP], env).stdout)
    assert debug["DATABASES"]["default"]["CONN_MAX_AGE"] == 0
    env = production_env(tmp_path, CONN_MAX_AGE="300", DATABASE_URL=POSTGRES_URL, DUMP='["DATABASES"]')
    configured = json.loads(run(["-c", SETTINGS_DUMP], env).stdout)
    assert configured["DATABASES"]["default"]["CONN_MAX_AGE"] == 300


def test_it_defaults_to_json_logs_and_two_factor_in_production(tmp_path: Path) -> None:
    s = production_settings(tmp_path, "LOG_FORMAT", "STAFF_REQUIRE_2FA", "AXES_CLIENT_IP_CALLABLE")
    assert s["LOG_FORMAT"] == "json"
    assert s["STAFF_REQUIRE_2FA"] is True
    assert s["AXES_CLIENT_IP_CALLABLE"] == "launchroom.tenants.access.client_address"


def test_it_defaults_to_text_logs_and_no_two_factor_for_the_demo(tmp_path: Path) -> None:
    env = production_env(tmp_path, DEBUG="1", DUMP='["LOG_FORMAT", "STAFF_REQUIRE_2FA"]')
    s = json.loads(run(["-c", SETTINGS_DUMP], env).stdout)
    assert s == {"LOG_FORMAT": "text", "STAFF_REQUIRE_2FA": False}


def test_it_names_a_bad_log_format(tmp_path: Path) -> None:
    result = run(["manage.py", "check"], production_env(tmp_path, LOG_FORMAT="xml"))
    assert result.returncode != 0
    assert "LOG_FORMAT must be json or text, got 'xml'" in result.stderr
