"""Loaded with ``-p tests.testenv`` before Django is set up: the test environment.

Tests run with production-like settings (DEBUG off); only the key is a test value.
"""

import os
import tempfile

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
