"""An uploaded evidence file waiting for its replacement to be confirmed (core.confirm).

The confirmation page cannot post a file again, so the upload is stored under a random name
in the media store (never on an app server's disk) and the page carries a signed token for
it; confirming gives the file back to the admin's form (``restore``). Tokens expire after
an hour.

The upload is written to storage once, as the stash: storage takes an upload's temporary
file as it would for the save (moves it, on the same disk). The rolled-back impact preview
and the save then read the stash (``Stash.for_preview``, ``Stash.for_save``), and the checks
and SHA-256 found while the upload streamed in come with it (``uploads.vouch``). On a local
media store the save moves the stash into place, and the preview stores a hard link to it
that the preview then deletes; another storage copies the stash each time.

A page nobody confirms or cancels leaves its stash behind: ``sweep`` (run hourly by the
scheduler, or ``manage.py sweep_pending_evidence``) deletes stashes older than
``EVIDENCE_PENDING_MAX_AGE_SECONDS``, never less than a token's hour.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.files import File
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.utils import timezone

from evidence import uploads
from evidence.models import EvidenceAttachment
from evidence.validation import InspectedFile

FIELD = "pending_file"
PREFIX = "evidence-pending/"
SALT = "evidence.pending"
MAX_AGE = 60 * 60


def _storage() -> Any:
    field = EvidenceAttachment._meta.get_field("file")
    assert isinstance(field, models.FileField)
    return field.storage


def _local_path(name: str) -> str | None:
    """Where a stored file is on this machine's disk; None for another kind of storage
    (some have a ``path`` without keeping their files there)."""
    storage = _storage()
    return str(storage.path(name)) if isinstance(storage, FileSystemStorage) else None


class _MovableFile(File):
    """A file on the media store's own disk, which storage moves into place (as it does an
    upload's temporary file) instead of copying its bytes."""

    def __init__(self, file: Any, name: str, path: str) -> None:
        super().__init__(file, name=name)
        self._path = path

    def temporary_file_path(self) -> str:
        return self._path


@dataclass(frozen=True)
class Stash:
    """An upload stored under ``PREFIX``, with the upload's name and, within the request that
    stored it, what the upload handler found in it."""

    name: str
    original: str
    inspected: InspectedFile | None = None

    @property
    def token(self) -> str:
        """The signed token the confirmation page carries."""
        return signing.dumps({"name": self.name, "original": self.original}, salt=SALT)

    def _open(self, name: str, *, movable: bool) -> File:
        storage = _storage()
        path = _local_path(name) if movable else None
        handle = storage.open(name, "rb")
        file = File(handle, name=self.original) if path is None else _MovableFile(handle, self.original, path)
        uploads.vouch(file, self.inspected)
        return file

    def for_save(self) -> File:
        """The stash for the save that keeps it: on a local store, storage moves it into
        place, so the stash is gone once saved; elsewhere storage copies it (``discard``)."""
        return self._open(self.name, movable=True)

    @contextlib.contextmanager
    def for_preview(self) -> Iterator[File]:
        """The stash for a rolled-back run, which deletes what it stored: storage must not
        take the stash itself. On a local store it is given a hard link to move (no bytes
        copied), removed here if the run never stored it; elsewhere a reader to copy."""
        path = _local_path(self.name)
        link = f"{self.name}.preview-{secrets.token_hex(4)}"
        link_path = _local_path(link) if path is not None else None
        if path is not None and link_path is not None:
            try:
                os.link(path, link_path)
            except OSError:  # no hard links on this disk: copy instead
                link_path = None
        file = self._open(link, movable=True) if link_path is not None else self._open(self.name, movable=False)
        try:
            yield file
        finally:
            file.close()
            if link_path is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(link_path)

    def discard(self) -> None:
        discard(self.name)


def stash(file: File) -> Stash:
    """Store ``file`` for later, once. Storage moves an upload's temporary file into the
    stash: from here on the request reads the stash, never ``file``."""
    found = uploads.recorded_inspection(file)  # before storage takes the file
    name = _storage().save(f"{PREFIX}{secrets.token_hex(16)}", file)
    inspected = found if isinstance(found, InspectedFile) else None
    return Stash(name=name, original=file.name or "evidence", inspected=inspected)


def _name(token: str) -> tuple[str, str] | None:
    try:
        data = signing.loads(token, salt=SALT, max_age=MAX_AGE)
    except signing.BadSignature:
        return None
    name = str(data.get("name", ""))
    return (name, str(data.get("original", "") or "evidence")) if name.startswith(PREFIX) else None


def restore(data: Mapping[str, Any]) -> Stash | None:
    """The stash that the posted ``data``'s token names, or None without a valid token or
    once the stash is gone (saved and moved into place, or swept)."""
    found = _name(str(data.get(FIELD, "")))
    if found is None:
        return None
    name, original = found
    return Stash(name=name, original=original) if _storage().exists(name) else None


def discard(name: str) -> None:
    if name.startswith(PREFIX):
        _storage().delete(name)


def sweep(*, max_age: int | None = None, dry_run: bool = False, now: datetime | None = None) -> list[str]:
    """Delete the stashes last written more than ``max_age`` seconds ago (default
    ``EVIDENCE_PENDING_MAX_AGE_SECONDS``): uploads whose confirmation page was left open.
    Returns their stored names (with ``dry_run``, those it would delete, deleting nothing).

    Only files directly under ``PREFIX`` are looked at; no evidence is touched. ``max_age``
    may not be under a token's lifetime: a stash is written just before its page's token is
    signed, so one that old is named by no token that can still be confirmed."""
    max_age = settings.EVIDENCE_PENDING_MAX_AGE_SECONDS if max_age is None else max_age
    if max_age < MAX_AGE:
        raise ValueError(f"the maximum age must be at least {MAX_AGE} seconds (a confirmation token's lifetime)")
    cutoff = (now or timezone.now()) - timedelta(seconds=max_age)
    storage = _storage()
    try:
        _folders, files = storage.listdir(PREFIX.rstrip("/"))
    except FileNotFoundError:
        return []
    removed = []
    for filename in sorted(files):
        name = f"{PREFIX}{filename}"
        try:
            if storage.get_modified_time(name) >= cutoff:
                continue
        except FileNotFoundError:  # confirmed or cancelled meanwhile
            continue
        if not dry_run:
            storage.delete(name)
        removed.append(name)
    return removed
