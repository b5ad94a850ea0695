"""An uploaded evidence file waiting for its replacement to be confirmed (core.confirm).

The confirmation page cannot post a file again, so the upload is stored under a random name
in the media store (never on an app server's disk) and the page carries a signed token for
it; confirming brings the file back into the request. Tokens expire after an hour.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.core import signing
from django.core.files import File
from django.db import models
from django.http import HttpRequest
from django.utils.datastructures import MultiValueDict

from evidence import uploads
from evidence.models import EvidenceAttachment

FIELD = "pending_file"
PREFIX = "evidence-pending/"
SALT = "evidence.pending"
MAX_AGE = 60 * 60


def _storage() -> Any:
    field = EvidenceAttachment._meta.get_field("file")
    assert isinstance(field, models.FileField)
    return field.storage


def stash(file: File) -> str:
    """Store a copy of ``file`` for later; the signed token that brings it back.

    A copy: storage would *move* an upload's temporary file, and the request still needs it
    (the rolled-back preview, or the save itself when nothing needs confirming)."""
    with uploads.stored_as_copy(file) as copy:
        name = _storage().save(f"{PREFIX}{secrets.token_hex(16)}", copy)
    return signing.dumps({"name": name, "original": file.name}, salt=SALT)


def _name(token: str) -> tuple[str, str] | None:
    try:
        data = signing.loads(token, salt=SALT, max_age=MAX_AGE)
    except signing.BadSignature:
        return None
    name = str(data.get("name", ""))
    return (name, str(data.get("original", "") or "evidence")) if name.startswith(PREFIX) else None


def restore(request: HttpRequest) -> str | None:
    """Put the stashed file named by the request's token back as its ``file`` upload; its
    stored name (to discard once saved), or None without a valid token."""
    found = _name(request.POST.get(FIELD, ""))
    if found is None or "file" in request.FILES:
        return None
    name, original = found
    storage = _storage()
    if not storage.exists(name):
        return None
    request._files = MultiValueDict({"file": [File(storage.open(name, "rb"), name=original)]})  # type: ignore[attr-defined]
    return name


def discard(name: str) -> None:
    if name.startswith(PREFIX):
        _storage().delete(name)


def discard_token(token: str) -> None:
    found = _name(token)
    if found is not None:
        discard(found[0])
