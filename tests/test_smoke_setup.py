from django.db import connection


def test_it_answers_healthz(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_it_runs_on_the_configured_database(db):
    assert connection.vendor in ("sqlite", "postgresql")
