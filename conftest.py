"""Test set-up shared by every test: settings from the environment, named users, markers."""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.chromium import chromium_path

REQUIRE_POSTGRES = os.environ.get("REQUIRE_POSTGRES") == "1"
REQUIRE_BROWSER = os.environ.get("REQUIRE_BROWSER") == "1"
CHROMIUM = chromium_path()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from django.db import connection

    on_postgres = connection.vendor == "postgresql"
    # The longest modules first (make test passes --no-loadscope-reorder so that pytest-xdist
    # hands modules out in this order): a long module handed out last keeps one worker busy
    # while the other idles. A stable sort: a module's tests keep their order.
    # The browser tests go out as one unit (``pytest_xdist_make_scheduler`` below), so first.
    items.sort(key=lambda item: (not item.nodeid.startswith(BROWSER_TESTS), -module_seconds(item.nodeid)))
    for item in items:
        if item.get_closest_marker("postgres") and not on_postgres:
            # With REQUIRE_POSTGRES=1 off PostgreSQL the session has already failed to start.
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://..."))
        # With REQUIRE_BROWSER=1 and no Chromium the session has already failed to start.
        if item.get_closest_marker("browser") and not CHROMIUM:
            item.add_marker(pytest.mark.skip(reason="needs Chromium: apt-get install -y chromium"))


BROWSER_TESTS = "tests/browser/"


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadfile``, with every browser test in one unit, handed out first: one worker
    drives Chromium while the other runs the rest. A browser test mostly waits for Chromium,
    which takes about a core of its own; two workers in browser tests at once left the cores
    partly idle at the start of a run and fought over them after."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class BrowserTestsTogether(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return BROWSER_TESTS if nodeid.startswith(BROWSER_TESTS) else super()._split_scope(nodeid)

    return BrowserTestsTogether(config, log)


# How long each module took, measured (tests/module_seconds.json): the order pytest-xdist hands
# modules out in. `UPDATE_MODULE_SECONDS=1 make test` measures them again. A module the file
# does not know yet goes first (it may be long); a stale figure costs only balance.
MODULE_SECONDS = Path(__file__).parent / "tests" / "module_seconds.json"
UPDATE_MODULE_SECONDS = os.environ.get("UPDATE_MODULE_SECONDS") == "1"
_KNOWN_SECONDS: dict[str, float] = json.loads(MODULE_SECONDS.read_text()) if MODULE_SECONDS.exists() else {}
_MEASURED: dict[str, float] = {}


def _module(nodeid: str) -> str:
    return nodeid.split("::")[0]


def module_seconds(nodeid: str) -> float:
    return _KNOWN_SECONDS.get(_module(nodeid), float("inf"))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # On the controller too: xdist workers send it every report.
    if UPDATE_MODULE_SECONDS:
        _MEASURED[_module(report.nodeid)] = _MEASURED.get(_module(report.nodeid), 0.0) + report.duration


def pytest_sessionfinish(session: pytest.Session) -> None:
    if UPDATE_MODULE_SECONDS and _MEASURED and not os.environ.get("PYTEST_XDIST_WORKER"):
        # A run of some modules updates theirs and keeps the rest; a module since deleted goes.
        root = MODULE_SECONDS.parent.parent
        figures = {m: s for m, s in _KNOWN_SECONDS.items() if (root / m).exists()}
        figures.update((m, round(s, 1)) for m, s in _MEASURED.items())
        MODULE_SECONDS.write_text(json.dumps(dict(sorted(figures.items())), indent=1) + "\n")


def pytest_collection_finish(session: pytest.Session) -> None:
    # Python's cycle collector walks every live object on each full pass; after collection that
    # is Django, the apps and every test module, none of which will ever be garbage. Freezing
    # them keeps them out of every later pass, and a larger first-generation threshold lets
    # each test's short-lived objects (querysets, rendered pages) go by reference counting
    # rather than through a collection every 700 allocations. About 5% of the suite's CPU
    # (docs/DECISIONS.md, Tests); nothing a test checks depends on when cycles are freed.
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 10, 10)


def pytest_sessionstart(session: pytest.Session) -> None:
    if REQUIRE_BROWSER and not CHROMIUM:
        raise pytest.UsageError("REQUIRE_BROWSER=1 but no Chromium was found (apt-get install -y chromium)")
    if REQUIRE_POSTGRES:
        from django.db import connection

        if connection.vendor != "postgresql":
            raise pytest.UsageError("REQUIRE_POSTGRES=1 but DATABASE_URL does not point at PostgreSQL")
    from tests import migrated_once

    migrated_once.install()


@pytest.fixture(scope="session")
def live_server(request: pytest.FixtureRequest) -> Iterator[Any]:
    """pytest-django's live server, started with an off-site MEDIA_URL.

    The portal leaves MEDIA_URL unset on purpose: evidence has no public URL. Django's live
    server reads MEDIA_URL once, when it starts, to serve media files; unset it would fail,
    and an on-site prefix would serve evidence files to anyone. An off-site URL makes it
    serve none. The setting is overridden only while the server starts, which happens when
    the first test that asks for the server runs (a transactional test, as every test that
    uses the server is), never inside another module's transaction.

    Its sockets send at once (TCP_NODELAY). Django's server writes a response's headers and
    its body in separate small writes; with Nagle's algorithm on, the body waited for the
    client's delayed acknowledgement of the headers, 40 ms on Linux, on every response: a
    page and its style sheets in the browser tests, every request of the proof commands.
    """
    from unittest import mock

    from django.test.testcases import LiveServerThread
    from django.test.utils import override_settings
    from pytest_django.live_server_helper import LiveServer

    address = request.config.getvalue("liveserver") or os.getenv("DJANGO_LIVE_TEST_SERVER_ADDRESS") or "localhost"
    server_class = _sending_at_once(LiveServerThread.server_class)
    with (
        override_settings(MEDIA_URL="https://media.invalid/"),
        mock.patch.object(LiveServerThread, "server_class", server_class),
    ):
        server = LiveServer(address)
    yield server
    server.stop()


def _sending_at_once(server_class: type) -> type:
    class SendingAtOnce(server_class):  # type: ignore[misc, valid-type]
        def __init__(self, address: Any, handler_class: type, *args: Any, **kwargs: Any) -> None:
            handler = type(handler_class.__name__, (handler_class,), {"disable_nagle_algorithm": True})
            super().__init__(address, handler, *args, **kwargs)

    return SendingAtOnce


@pytest.fixture(scope="session", autouse=True)
def _role_groups_survive_a_flush() -> None:
    """Put the role groups back whenever a transactional test's flush empties the database.

    The groups come from a data migration, which a flush does not run again; without them
    every later test on that worker would rebuild them and their permissions (in ``staff``).
    The flush sends ``post_migrate``, as ``migrate`` does: the groups are synced then, once.
    """
    from django.apps import apps
    from django.db.models.signals import post_migrate

    from launchroom.tenants.roles import sync_groups

    def restore(**kwargs: Any) -> None:
        sync_groups()

    post_migrate.connect(restore, sender=apps.get_app_config("launchroom"), weak=False, dispatch_uid="tests.groups")


@pytest.fixture(autouse=True)
def _fast_hashing(settings):  # type: ignore[no-untyped-def]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """Every test starts with an empty cache (the launch room keeps its pages there, and a
    test's rolled-back database would otherwise meet pages cached by the one before)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def staff(db):  # type: ignore[no-untyped-def]
    """The five named staff users of the demo, each in their role's group."""
    from launchroom import demo

    return demo.ensure_staff()
