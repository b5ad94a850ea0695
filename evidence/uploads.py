"""Evidence uploads, inspected while they stream in.

``InspectingUploadHandler`` replaces Django's two default upload handlers (settings
``FILE_UPLOAD_HANDLERS``). Like them it keeps a small request in memory and streams a
bigger one to a temporary file; unlike them it feeds each chunk to a ``FileInspector`` on
the way, so by the time the request's body has been read the file's SHA-256 and checks
are done, and the admin form and ``evidence_attach`` need not read the file again.

An upload handler must not raise a ``ValidationError``: that would be a server error, not
a refusal on the form. So a refusal is recorded against the uploaded file instead, and no
more of the file is kept: the bytes already written are dropped and the rest of the body
is read and discarded, so an oversized upload cannot fill the disk. ``inspection(file)``
then raises it like any other refusal.

A result is recorded in a registry private to this module, keyed by the uploaded file
object the handler created, or by a file the server opened itself on an upload's stash
(``vouch``): nothing the client sends can set one, and any other object has none. An
accepted result is used only while the file is as it was when recorded (same name, same
underlying file, same size and, for a file on disk, same inode and modification time);
otherwise the file is inspected afresh. A refusal is never dropped that way: the handler
kept none of the refused file's content.
"""

from __future__ import annotations

import io
import os
import weakref
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.uploadedfile import InMemoryUploadedFile, UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopFutureHandlers, TemporaryFileUploadHandler

from evidence.validation import FileInspector, InspectedFile, inspect_file

Result = InspectedFile | ValidationError


@dataclass(frozen=True)
class _Record:
    result: Result
    fingerprint: tuple[Any, ...]


_RECORDS: weakref.WeakKeyDictionary[File, _Record] = weakref.WeakKeyDictionary()


def _fingerprint(file: File) -> tuple[Any, ...]:
    """What must not change between the handler's pass and the use of its result."""
    inner: Any = file.file
    if isinstance(inner, io.BytesIO):
        with inner.getbuffer() as view:
            content: tuple[Any, ...] = ("memory", view.nbytes)
    else:
        inner.flush()  # a buffered write not yet on disk would not show in fstat
        st = os.fstat(inner.fileno())
        content = ("disk", st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    return (file.name, id(inner), *content)


def recorded_inspection(file: Any) -> Result | None:
    """What the upload handler found for this uploaded file, or None when it found
    nothing for it (a file at hand, not an upload) or the file has changed since."""
    try:
        record = _RECORDS.get(file)
    except TypeError:  # not weak-referenceable: not one of the handler's files
        return None
    if record is None:
        return None
    if isinstance(record.result, ValidationError):
        return record.result
    try:
        current = _fingerprint(file)
    except (OSError, ValueError):  # closed: nothing left to vouch for
        current = None
    if current != record.fingerprint:
        del _RECORDS[file]
        return None
    return record.result


def inspection(file: File) -> InspectedFile:
    """The checks and SHA-256 of a file: as the upload handler recorded them while the
    file streamed in, or (for a file that did not come over HTTP) from one chunked pass
    now. Raises the refusal as a ``ValidationError``."""
    result = recorded_inspection(file)
    if result is None:
        return inspect_file(file)
    if isinstance(result, ValidationError):
        raise result
    return result


class InspectingUploadHandler(TemporaryFileUploadHandler):
    """Streams each uploaded file to memory (a small request) or a temporary file, and
    through a ``FileInspector``; records the result against the file object."""

    # Bigger than Django's 64 KiB: fewer trips through the multipart parser per file,
    # at a cost of a few chunks' worth of memory while a request is parsed.
    chunk_size = 256 * 1024

    in_memory = False
    inspector: FileInspector | None = None
    error: ValidationError | None = None

    def handle_raw_input(
        self, input_data: Any, META: Any, content_length: int, boundary: Any, encoding: str | None = None
    ) -> None:
        # The same rule as Django's MemoryFileUploadHandler: by the size of the whole body.
        self.in_memory = content_length <= settings.FILE_UPLOAD_MAX_MEMORY_SIZE

    def new_file(
        self,
        field_name: str,
        file_name: str,
        content_type: str,
        content_length: int | None,
        charset: str | None = None,
        content_type_extra: dict[str, Any] | None = None,
    ) -> None:
        if self.in_memory:
            FileUploadHandler.new_file(
                self, field_name, file_name, content_type, content_length, charset, content_type_extra
            )
            self.file = InMemoryUploadedFile(  # type: ignore[assignment]  # small uploads stay in memory
                io.BytesIO(), field_name, file_name, content_type, 0, charset, content_type_extra
            )
        else:
            super().new_file(field_name, file_name, content_type, content_length, charset, content_type_extra)
        self.inspector, self.error = None, None
        try:
            # The name as the file object carries it, so the result is the one
            # inspect_file would give for this file.
            self.inspector = FileInspector(self.file.name)
            self.inspector.check_declared_size(content_length)
        except ValidationError as exc:
            self._refuse(exc)
        # This handler alone holds the file: no other handler keeps an uninspected copy.
        raise StopFutureHandlers

    def _refuse(self, error: ValidationError) -> None:
        self.error, self.inspector = error, None
        self.file.seek(0)
        self.file.truncate()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        if self.inspector is None:  # refused: read on, keep nothing
            return None
        try:
            self.inspector.feed(raw_data)
        except ValidationError as exc:
            self._refuse(exc)
            return None
        self.file.write(raw_data)
        return None

    def file_complete(self, file_size: int) -> UploadedFile:
        result: Result
        if self.inspector is not None:
            try:
                result = self.inspector.finish()
            except ValidationError as exc:
                self._refuse(exc)
                result = exc
        else:  # refused on the way
            result = self.error or ValidationError({"file": "The upload could not be checked."})
        self.inspector = None
        self.file.seek(0)
        self.file.size = file_size
        _RECORDS[self.file] = _Record(result, _fingerprint(self.file))
        return self.file

    def upload_interrupted(self) -> None:
        if not self.in_memory:
            super().upload_interrupted()


def vouch(file: File, result: InspectedFile | None = None) -> None:
    """Record an inspection for ``file``, a file the server opened itself on an upload it
    stored (the upload's stash, ``evidence.pending``), never one a client sent: ``result``
    when given (what the handler found as the upload streamed in: the same bytes), else the
    result of one chunked pass now. ``inspection(file)`` then answers from the record while
    the file is as it is now, so neither the form nor the service reads it again.

    A file without a local descriptor to vouch by (another storage's) is left unrecorded:
    it is inspected when it is used, as any file at hand is."""
    try:
        fingerprint = _fingerprint(file)
    except (AttributeError, OSError, ValueError):
        return
    recorded: Result
    if result is not None:
        recorded = result
    else:
        try:
            recorded = inspect_file(file)
        except ValidationError as exc:
            recorded = exc
    _RECORDS[file] = _Record(recorded, fingerprint)
