"""Loaded with ``-p tests.testenv`` before Django is set up: the test environment.

Tests run with production-like settings (DEBUG off); only the key is a test value.
"""

import hashlib
import os
import tempfile
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdefghijklmnop")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("WHITENOISE_USE_FINDERS", "1")
# Staff log in with a password alone in the tests, as in the `make run` demo; the two-factor
# tests (tests/test_two_factor.py) turn it on.
os.environ.setdefault("STAFF_REQUIRE_2FA", "0")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # Each xdist worker gets its own media folder: tests compare the files on disk.
    os.environ["MEDIA_ROOT"] = tempfile.mkdtemp(prefix=f"thesmios-test-media-{os.environ['PYTEST_XDIST_WORKER']}-")
else:
    os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="thesmios-test-media-"))
# A transactional test's flush may empty the tables that refuse TRUNCATE (thesmios/settings.py).
os.environ.setdefault("ALLOW_TEST_FLUSH", "1")
# Background work runs at once in tests (on commit); one integration test runs the real worker.
os.environ.setdefault("TASKS_BACKEND", "django_tasks.backends.immediate.ImmediateBackend")


def pytest_configure(config: object) -> None:
    """An off-site MEDIA_URL for the test run. The portal leaves MEDIA_URL unset on purpose:
    evidence has no public URL. Django's live server (pytest-django's ``live_server``) serves
    files under MEDIA_URL and fails to start without one; under an off-site URL it serves none,
    so no evidence file is reachable through it, as in the portal."""
    from django.conf import settings

    settings.MEDIA_URL = "https://media.invalid/"
    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3" and not database.get("TEST", {}).get("NAME"):
        # The SQLite test database is a file (Django's TEST NAME; pytest-django adds each xdist
        # worker's suffix), in memory-backed /dev/shm where there is one, rather than SQLite's
        # shared in-memory database, which answers a second writer with an error instead of
        # making it wait: threads of tests/test_concurrency.py then wait for the write lock.
        # Its folder is named for this checkout and for everything that shapes the schema (the
        # migrations and the pinned packages), so that `make test`, which passes pytest-django's
        # --reuse-db, migrates once and then reuses the database until a migration or a package
        # changes; a plain `pytest` creates it afresh.
        database["TEST"] = {**database.get("TEST", {}), "NAME": str(schema_folder() / "test.sqlite3")}
        # A writer waits up to 30 seconds for the lock (SQLite's default, 5, is short on a busy machine).
        database["OPTIONS"] = {**database.get("OPTIONS", {}), "timeout": 30}


def schema_folder() -> Path:
    """A folder for the SQLite test database, in memory-backed /dev/shm where there is one."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256(str(root).encode())
    for path in [*sorted(root.glob("*/migrations/*.py")), root / "requirements-dev.txt"]:
        digest.update(path.read_bytes())
    base = Path("/dev/shm") if os.path.isdir("/dev/shm") else Path(tempfile.gettempdir())
    folder = base / f"thesmios-test-db-{digest.hexdigest()[:16]}"
    folder.mkdir(exist_ok=True)
    return folder
