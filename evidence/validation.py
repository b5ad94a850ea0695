"""What an evidence attachment may be: type by content, size, name, URL scheme, output length.

Every refusal is a ``ValidationError`` that names the limit or the reason, keyed by the
form field it concerns (``file``, ``url`` or ``output``).

A file is read once, in chunks, as it streams in (``FileInspector``): the SHA-256, the
size limit, the content checks and the HTML scan all happen in that one pass, so a file
is never held whole in memory. An upload over HTTP is fed to it by the upload handler in
``evidence.uploads`` while it arrives; a file at hand, by ``inspect_file``. The exception
is JSON, which must parse: the standard library has no incremental parser, so a JSON
file's decoded text is kept until the end of the pass and parsed then. Its size is capped
by the same upload limit (25 MiB by default), and proof outputs are a few kilobytes.
"""

from __future__ import annotations

import codecs
import hashlib
import ipaddress
import json
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File

CHUNK_SIZE = 64 * 1024
# Browsers sniff a type from the first bytes of a response; a polyglot hides its HTML
# there. Binary types are scanned this far; text types are scanned whole.
HEAD_SCAN_BYTES = 64 * 1024
HTML_MARKERS = (b"<!doctype html", b"<html", b"<script", b"<svg", b"<iframe")
_OVERLAP = max(len(m) for m in HTML_MARKERS) - 1
MAX_NAME_LENGTH = 150


@dataclass(frozen=True)
class FileType:
    key: str
    label: str
    extensions: tuple[str, ...]
    content_type: str
    text: bool
    magic: bytes = b""


FILE_TYPES: tuple[FileType, ...] = (
    FileType("json", "JSON", ("json",), "application/json", text=True),
    FileType("text", "UTF-8 text or log", ("txt", "log"), "text/plain; charset=utf-8", text=True),
    FileType("csv", "CSV", ("csv",), "text/csv; charset=utf-8", text=True),
    FileType("pdf", "PDF", ("pdf",), "application/pdf", text=False, magic=b"%PDF-"),
    FileType("png", "PNG image", ("png",), "image/png", text=False, magic=b"\x89PNG\r\n\x1a\n"),
    FileType("jpeg", "JPEG image", ("jpg", "jpeg"), "image/jpeg", text=False, magic=b"\xff\xd8\xff"),
)
BY_EXTENSION = {ext: t for t in FILE_TYPES for ext in t.extensions}
# Content types the download view will send; anything else is sent as octet-stream.
SERVABLE_CONTENT_TYPES = frozenset(t.content_type for t in FILE_TYPES) | {"text/plain; charset=utf-8"}
ALLOWED_DESCRIPTION = "JSON, UTF-8 text or logs (.txt, .log), CSV, PDF, PNG or JPEG"

LOOPBACK_NAMES = {"localhost"}


@dataclass(frozen=True)
class InspectedFile:
    """What one pass over an uploaded file found: its safe name, digest, size and type."""

    name: str
    sha256: str
    size: int
    content_type: str
    file_type: FileType


def human_size(n: int) -> str:
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= factor and n % factor == 0:
            return f"{n // factor} {unit}"
    return f"{n:,} bytes"


def _refuse(field: str, message: str) -> ValidationError:
    return ValidationError({field: message})


def sanitise_filename(name: str | None) -> str:
    """A safe display name: no folders, no ``..``, no control characters, a bounded length.

    The name is only shown and offered as the download name; the stored file always has
    a server-generated name.
    """
    raw = unicodedata.normalize("NFC", name or "")
    # Windows clients and hand-built File objects can carry either separator.
    base = re.split(r"[\\/]", raw)[-1]
    cleaned = "".join(
        " " if unicodedata.category(ch) in ("Zs",) else ch
        for ch in base
        if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn")
    )
    cleaned = re.sub(r'[<>:"|?*]', "_", cleaned)
    cleaned = re.sub(r"\.{2,}", ".", cleaned)
    cleaned = re.sub(r"\s+", " ", cleaned).strip(" .")
    if not cleaned or not any(ch.isalnum() for ch in cleaned):
        raise _refuse("file", f"The file name {name!r} has no usable name once folders and dots are removed.")
    if len(cleaned) > MAX_NAME_LENGTH:
        stem, dot, ext = cleaned.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            cleaned = stem[: MAX_NAME_LENGTH - len(ext) - 1].rstrip(" .") + "." + ext
        else:
            cleaned = cleaned[:MAX_NAME_LENGTH]
    return cleaned


def file_type_for(name: str) -> FileType:
    _, dot, ext = name.rpartition(".")
    file_type = BY_EXTENSION.get(ext.lower()) if dot else None
    if file_type is None:
        shown = f".{ext.lower()}" if dot else "a file with no extension"
        raise _refuse("file", f"{shown} files are not accepted as evidence: attach {ALLOWED_DESCRIPTION}.")
    return file_type


def _html_marker(data: bytes) -> bytes | None:
    lowered = data.lower()
    return next((m for m in HTML_MARKERS if m in lowered), None)


class FileInspector:
    """The checks of one file, fed chunk by chunk as it streams in: one implementation for
    every feeder (``inspect_file`` for a file at hand, the upload handler for an upload).

    Refused: a name with nothing usable in it, a type outside the allowed list (by
    extension and by content), an empty file, a file over ``EVIDENCE_MAX_UPLOAD_BYTES``,
    HTML anywhere in a text file or in the first 64 KiB of a binary one (an HTML/PNG
    polyglot), text that is not UTF-8, and JSON that does not parse. The constructor,
    ``check_declared_size``, ``feed`` and ``finish`` each raise the refusal as a
    ``ValidationError`` keyed ``file``; after one has been raised the inspector is spent.
    """

    def __init__(self, name: str | None) -> None:
        self.limit = int(settings.EVIDENCE_MAX_UPLOAD_BYTES)
        self.name = sanitise_filename(name)
        self.file_type = file_type_for(self.name)
        self.size = 0
        self._digest = hashlib.sha256()
        self._head = b""
        self._tail = b""
        self._magic = self.file_type.magic
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")("strict") if self.file_type.text else None
        self._json_parts: list[str] | None = [] if self.file_type.key == "json" else None

    def _too_big(self) -> ValidationError:
        return _refuse(
            "file", f"{self.name} is larger than the {human_size(self.limit)} upload limit (EVIDENCE_MAX_UPLOAD_BYTES)."
        )

    def check_declared_size(self, declared: object) -> None:
        """Refuse early when the size a file claims is already over the limit; the limit
        is enforced on the bytes that arrive, whatever was claimed."""
        if isinstance(declared, int) and declared > self.limit:
            raise self._too_big()

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        offset = self.size
        self.size += len(chunk)
        if self.size > self.limit:
            raise self._too_big()
        self._digest.update(chunk)
        if len(self._head) < len(self._magic):
            self._head += chunk[: len(self._magic) - len(self._head)]
        if self._decoder is not None or offset < HEAD_SCAN_BYTES:
            marker = _html_marker(self._tail + chunk)
            if marker is not None:
                raise _refuse(
                    "file",
                    f"{self.name} contains HTML ({marker.decode()}…); HTML is never accepted as evidence, "
                    "not even inside another type.",
                )
            self._tail = chunk[-_OVERLAP:]
        if self._decoder is not None:
            if b"\x00" in chunk:
                raise _refuse("file", f"{self.name} is binary, not {self.file_type.label} (it contains NUL bytes).")
            try:
                text = self._decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                raise _refuse(
                    "file", f"{self.name} is not UTF-8 text (bad byte at offset {offset + exc.start})."
                ) from None
            if self._json_parts is not None:
                self._json_parts.append(text)

    def finish(self) -> InspectedFile:
        name = self.name
        if self.size == 0:
            raise _refuse("file", f"{name} is empty.")
        if self._decoder is not None:
            try:
                tail_text = self._decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                raise _refuse("file", f"{name} is not UTF-8 text (it ends inside a character).") from None
            if self._json_parts is not None:
                self._json_parts.append(tail_text)
        if self._magic and not self._head.startswith(self._magic):
            ext = name.rpartition(".")[2].lower()
            raise _refuse(
                "file", f"{name} is not a {self.file_type.label}: its content does not match its .{ext} name."
            )
        if self._json_parts is not None:
            text, self._json_parts = "".join(self._json_parts), None
            _check_json(name, text)
        return InspectedFile(
            name=name,
            sha256=self._digest.hexdigest(),
            size=self.size,
            content_type=self.file_type.content_type,
            file_type=self.file_type,
        )


def inspect_file(file: File) -> InspectedFile:
    """Check and hash a file at hand (from a command or a test) in one chunked pass.

    An upload over HTTP is inspected while it streams in, by ``evidence.uploads``; this
    is the same ``FileInspector`` fed from the file instead.
    """
    inspector = FileInspector(getattr(file, "name", None))
    inspector.check_declared_size(getattr(file, "size", None))
    for chunk in file.chunks(CHUNK_SIZE):
        inspector.feed(chunk)
    return inspector.finish()


def _check_json(name: str, text: str) -> None:
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise _refuse("file", f"{name} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") from None
    except RecursionError:
        raise _refuse("file", f"{name} is not acceptable JSON: it is nested too deeply.") from None


def _is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_url(url: str) -> str:
    """An https URL (http only to a loopback host, and only with DEBUG on), with no credentials."""
    url = url.strip()
    limit = 1000
    if len(url) > limit:
        raise _refuse("url", f"The URL is longer than {limit} characters.")
    if any(unicodedata.category(ch) == "Cc" or ch.isspace() for ch in url):
        raise _refuse("url", "The URL contains spaces or control characters.")
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 (a bad port raises here)
    except ValueError:
        raise _refuse("url", "This is not a valid URL.") from None
    if not host:
        raise _refuse("url", "The URL has no host.")
    if parts.username or parts.password:
        raise _refuse("url", "The URL contains a user name or password; attach it without credentials.")
    scheme = parts.scheme.lower()
    if scheme == "https":
        return url
    if scheme == "http" and _is_loopback(host):
        if settings.DEBUG:
            return url
        raise _refuse("url", "http:// is accepted only for a loopback host when DEBUG is on; use https://.")
    raise _refuse("url", f"Only https:// URLs are accepted as evidence, not {scheme or 'a URL without a scheme'}.")


def validate_output(output: str) -> str:
    """Pasted command output: not blank, no NUL characters, at most ``EVIDENCE_MAX_OUTPUT_CHARS``."""
    limit = int(settings.EVIDENCE_MAX_OUTPUT_CHARS)
    if not output.strip():
        raise _refuse("output", "The pasted output is empty.")
    if len(output) > limit:
        raise _refuse(
            "output",
            f"The pasted output has {len(output):,} characters; the limit is {limit:,} "
            "(EVIDENCE_MAX_OUTPUT_CHARS). Attach it as a file instead.",
        )
    if "\x00" in output:
        raise _refuse("output", "The pasted output contains NUL characters; attach it as a file instead.")
    return output
