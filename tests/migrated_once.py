"""The SQLite test database, migrated once for each set of migrations, not once per worker and run.

Migrating a fresh database takes about six seconds (74 migrations, most of it Django rendering
model states), and every pytest-xdist worker does it before its first test. After a worker has
migrated, the database is copied to ``var/test-db/`` under a key made of every migration file
of every installed app, the Django version and the SQLite version. While the key is the same,
a worker copies that database into its in-memory one (SQLite's backup API, milliseconds)
instead of migrating, and then sends ``post_migrate`` as ``migrate`` would: what the code, not
the migrations, puts in the database (permissions, the role groups, the system account) is
brought up to date as after a real migrate. A changed migration changes the key: the next run
migrates again. PostgreSQL, and a SQLite database on disk, migrate as usual.

The same copy, kept in memory as the database stood when it was ready, replaces the flush
after a transactional test: a flush deletes every table and sends ``post_migrate``, which
makes the content types, permissions and role groups again (about 70 ms, some 140 times a
run); copying the ready database back gives the same empty database in a millisecond.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path
from typing import Any

CACHE = Path(__file__).resolve().parents[1] / "var" / "test-db"
# The test database as it stood once created (migrated, post_migrate sent), in this worker.
_READY: list[sqlite3.Connection] = []


def migrations_key() -> str:
    import django
    from django.apps import apps
    from django.conf import settings

    digest = hashlib.sha256(f"django {django.get_version()} sqlite {sqlite3.sqlite_version}\n".encode())
    digest.update(repr(sorted(getattr(settings, "MIGRATION_MODULES", {}).items())).encode())
    for config in sorted(apps.get_app_configs(), key=lambda c: c.label):
        for path in sorted((Path(config.path) / "migrations").glob("*.py")):
            digest.update(f"\n{config.label}/{path.name}\n".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:20]


def install() -> None:
    """Make the test database's ``migrate`` copy the migrated database when it can (see above)."""
    from django.core import management
    from django.core.management.sql import emit_post_migrate_signal
    from django.db import DEFAULT_DB_ALIAS, connections

    connection = connections[DEFAULT_DB_ALIAS]
    creation = connection.creation
    if connection.vendor != "sqlite" or not creation.is_in_memory_db(creation._get_test_db_name()):
        return
    real_call_command = management.call_command
    snapshot = CACHE / f"migrated-{migrations_key()}.sqlite3"

    def call_command(name: str, *args: Any, **options: Any) -> Any:
        if name != "migrate" or options.get("database", DEFAULT_DB_ALIAS) != DEFAULT_DB_ALIAS:
            return real_call_command(name, *args, **options)
        connection.ensure_connection()
        if snapshot.exists():
            source = sqlite3.connect(snapshot)
            try:
                source.backup(connection.connection)
            finally:
                source.close()
            emit_post_migrate_signal(verbosity=0, interactive=False, db=DEFAULT_DB_ALIAS)
            return None
        result = real_call_command(name, *args, **options)
        CACHE.mkdir(parents=True, exist_ok=True)
        partial = snapshot.with_name(f"{snapshot.name}.{os.getpid()}.partial")
        _write(connection.connection, partial)
        os.replace(partial, snapshot)  # two workers may both write it: either copy is whole
        return result

    create_for_real = creation.create_test_db

    def create_test_db(*args: Any, **kwargs: Any) -> Any:
        # Django's create_test_db imports call_command when it runs: replaced only meanwhile.
        management.call_command = call_command
        try:
            name = create_for_real(*args, **kwargs)
        finally:
            management.call_command = real_call_command
        _keep_ready_copy()
        return name

    creation.create_test_db = create_test_db  # type: ignore[method-assign]
    _restore_instead_of_flush()


def copy_database() -> sqlite3.Connection:
    """The in-memory test database as it stands now (committed rows), copied into memory."""
    from django.db import DEFAULT_DB_ALIAS, connections

    copy = sqlite3.connect(":memory:")
    connections[DEFAULT_DB_ALIAS].connection.backup(copy)
    return copy


def restore(copy: sqlite3.Connection) -> None:
    """Make the in-memory test database the copy again (outside any transaction)."""
    from django.contrib.contenttypes.models import ContentType
    from django.db import DEFAULT_DB_ALIAS, connections

    connection = connections[DEFAULT_DB_ALIAS]
    connection.ensure_connection()
    copy.backup(connection.connection)
    ContentType.objects.clear_cache()


def can_copy() -> bool:
    """True on the in-memory SQLite test database, once it is ready."""
    return bool(_READY)


def write_ready_copy(path: Path) -> bool:
    """Write the ready test database (migrated, post_migrate sent) to a file; False where
    there is no copy (PostgreSQL, a database on disk)."""
    if not _READY:
        return False
    _write(_READY[0], path)
    return True


def _write(source: sqlite3.Connection, path: Path) -> None:
    target = sqlite3.connect(path)
    try:
        source.backup(target)
    finally:
        target.close()


def _keep_ready_copy() -> None:
    _READY[:] = [copy_database()]


def restore_ready() -> bool:
    """Put the test database back as it stood when created; False where there is no copy."""
    from django.db import DEFAULT_DB_ALIAS, connections

    if not _READY or connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return False
    restore(_READY[0])
    return True


def _restore_instead_of_flush() -> None:
    """After a transactional test, Django flushes the database (``TransactionTestCase``):
    on this in-memory database, the ready copy is put back instead."""
    from django.db import DEFAULT_DB_ALIAS
    from django.test import testcases

    real_call_command = testcases.call_command

    def call_command(name: str, *args: Any, **options: Any) -> Any:
        if (
            name == "flush"
            and options.get("database", DEFAULT_DB_ALIAS) == DEFAULT_DB_ALIAS
            and not options.get("inhibit_post_migrate")
            and restore_ready()
        ):
            return None
        return real_call_command(name, *args, **options)

    testcases.call_command = call_command  # type: ignore[attr-defined]
