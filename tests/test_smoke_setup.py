from django.db import connection


def test_it_answers_healthz(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_it_runs_on_the_configured_database(db):
    assert connection.vendor in ("sqlite", "postgresql")


def test_it_renders_the_error_pages_without_a_request_context():
    from django.template.loader import render_to_string

    # Django renders 500.html with an empty context; the page must still come out whole.
    assert "Something went wrong" in render_to_string("500.html")
    assert "Not allowed" in render_to_string("403.html")
