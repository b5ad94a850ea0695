"""Evidence uploads: every refusal leaves nothing behind; accepted files are hashed as they stream."""

from __future__ import annotations

import hashlib
import io
import os
import struct
import zlib
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile

from evidence import uploads, validation
from evidence.models import EvidenceAttachment
from evidence.services import evidence_attach, evidence_verify
from launchroom.models import Tenant

GATE, REQ = "public-deployment", "launch-smoke"


def media_files() -> set[str]:
    root = Path(django_settings.MEDIA_ROOT)
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def png_bytes(extra_chunk: bytes = b"") -> bytes:
    """A real 1x1 PNG, optionally with an extra tEXt chunk after the header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    text = chunk(b"tEXt", extra_chunk) if extra_chunk else b""
    pixels = chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
    return b"\x89PNG\r\n\x1a\n" + header + text + pixels + chunk(b"IEND", b"")


@pytest.fixture
def tenant(db):
    return Tenant.objects.create(slug="acme", name="Acme")


@pytest.fixture
def attach(tenant, staff):
    def _attach(**kwargs):
        return evidence_attach(tenant=tenant, gate_key=GATE, requirement_key=REQ, by=staff["operator"], **kwargs)

    return _attach


def assert_refused(attach, match: str, **kwargs) -> ValidationError:
    before = media_files()
    with pytest.raises(ValidationError) as info:
        attach(**kwargs)
    assert match in " ".join(info.value.messages), info.value.messages
    assert EvidenceAttachment.objects.count() == 0
    assert media_files() == before
    return info.value


# Size and emptiness --------------------------------------------------------------------------


def test_it_refuses_a_file_over_the_size_limit(attach, settings):
    settings.EVIDENCE_MAX_UPLOAD_BYTES = 1024
    error = assert_refused(
        attach,
        "larger than the 1 KiB upload limit (EVIDENCE_MAX_UPLOAD_BYTES)",
        file=SimpleUploadedFile("big.txt", b"a" * 1025),
    )
    assert "file" in error.message_dict


def test_it_enforces_the_size_limit_while_streaming_not_from_the_declared_size(attach, settings):
    settings.EVIDENCE_MAX_UPLOAD_BYTES = 100 * 1024
    upload = TemporaryUploadedFile("lying.log", "text/plain", size=10, charset="utf-8")
    upload.write(b"line of log output\n" * 10_000)
    upload.seek(0)
    assert_refused(attach, "100 KiB upload limit", file=upload)


def test_it_accepts_a_file_exactly_at_the_limit(attach, settings):
    settings.EVIDENCE_MAX_UPLOAD_BYTES = 1024
    attachment = attach(file=SimpleUploadedFile("edge.txt", b"a" * 1024))
    assert attachment.size == 1024


def test_it_refuses_an_empty_file(attach):
    assert_refused(attach, "smoke.json is empty", file=SimpleUploadedFile("smoke.json", b""))


# Type, by extension and by content -----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("page.html", b"<p>hello</p>", ".html files are not accepted"),
        ("tool.exe", b"MZ\x90\x00", ".exe files are not accepted"),
        ("README", b"plain words", "a file with no extension files are not accepted"),
        ("shot.png", b"just some text, not an image", "is not a PNG image"),
        ("scan.pdf", b"\x89PNG\r\n\x1a\n", "is not a PDF"),
        ("photo.jpg", b"GIF89a....", "is not a JPEG image"),
        ("smoke.json", b'{"passed": true,', "is not valid JSON"),
        ("smoke.log", "caf\u00e9".encode("latin-1"), "is not UTF-8 text"),
        ("data.csv", b"a,b\n\x00\x01,2\n", "is binary"),
    ],
)
def test_it_refuses_a_type_that_is_not_allowed_or_does_not_match_its_content(attach, name, content, reason):
    assert_refused(attach, reason, file=SimpleUploadedFile(name, content))


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("smoke.json", b'\xef\xbb\xbf{"passed": true, "checks": []}', "application/json"),
        ("run.log", "SKIPPED hsts: only over HTTPS \u2713\n".encode(), "text/plain; charset=utf-8"),
        ("run.txt", b"PASSED managed-beta page\n", "text/plain; charset=utf-8"),
        ("seats.csv", b"tenant,seats\nacme,120\n", "text/csv; charset=utf-8"),
        ("dpia.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n", "application/pdf"),
        ("snapshot.PNG", png_bytes(), "image/png"),
        ("snapshot.jpeg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) + b"\xff\xd9", "image/jpeg"),
    ],
)
def test_it_accepts_each_allowed_type_and_records_the_type_it_found(attach, name, content, content_type):
    attachment = attach(file=SimpleUploadedFile(name, content, content_type="text/html"))
    assert attachment.content_type == content_type  # from the content, never the client's claim
    assert attachment.sha256 == hashlib.sha256(content).hexdigest()
    assert attachment.size == len(content)
    with attachment.file.open("rb") as fh:
        assert fh.read() == content


# HTML and polyglots ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "marker"),
    [
        ("page.txt", b"<!DOCTYPE html><title>x</title>", "<!doctype html"),
        ("smoke.json", b'{"detail": "<ScRiPt>alert(1)</script>"}', "<script"),
        ("data.csv", b"a,b\n<svg onload=alert(1)>,2\n", "<svg"),
        ("run.log", b"ok\n" * 5000 + b"<iframe src=//evil>", "<iframe"),
        ("snapshot.png", png_bytes(b"Comment\x00<html><script>alert(1)</script></html>"), "<html"),
        ("dpia.pdf", b"%PDF-1.4\n<html><body>hi</body></html>", "<html"),
    ],
)
def test_it_refuses_html_and_html_polyglots(attach, name, content, marker):
    assert_refused(attach, f"contains HTML ({marker}", file=SimpleUploadedFile(name, content))


def test_it_finds_html_split_across_two_chunks(attach):
    filler = b"x" * (validation.CHUNK_SIZE - 4)
    assert_refused(attach, "contains HTML (<script", file=SimpleUploadedFile("split.txt", filler + b"<scr" + b"ipt>"))


# Names -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "display"),
    [
        ("../../../etc/cron.d/evil.txt", "evil.txt"),
        ("..\\..\\Windows\\System32\\evil.txt", "evil.txt"),
        ("/abs/path/run\x00\x1b[31m.txt", "run[31m.txt"),
        ("...hidden..txt", "hidden.txt"),
    ],
)
def test_it_strips_path_traversal_from_names_and_stores_under_a_server_name(attach, tenant, name, display):
    attachment = attach(file=File(io.BytesIO(b"ok\n"), name=name))
    assert attachment.original_name == display
    stored = Path(attachment.file.path).resolve()
    root = Path(django_settings.MEDIA_ROOT).resolve()
    assert stored.is_relative_to(root / "evidence" / str(tenant.pk))
    assert display not in stored.name and ".." not in attachment.file.name
    assert len(stored.name) == 32  # a uuid4 hex, chosen by the server


@pytest.mark.parametrize("name", ["..", "../..", "\x00\x01", " . . "])
def test_it_refuses_a_name_that_is_only_a_path(attach, name):
    assert_refused(attach, "has no usable name", file=File(io.BytesIO(b"ok\n"), name=name))


# Nothing stored on failure ------------------------------------------------------------------------


class HalfWritingStorage(FileSystemStorage):
    """A storage that fails after writing part of the file, like a full disk."""

    def _save(self, name, content):
        path = self.path(name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(b"partial")
        raise OSError("No space left on device")


def test_it_leaves_no_partial_file_when_storage_fails(attach, settings):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": f"{__name__}.HalfWritingStorage"}}
    before = media_files()
    with pytest.raises(OSError, match="No space left"):
        attach(file=SimpleUploadedFile("smoke.json", b'{"passed": true}'))
    assert media_files() == before
    assert EvidenceAttachment.objects.count() == 0


def test_it_stores_nothing_when_a_field_is_invalid(attach):
    assert_refused(
        attach, "at most 80 characters", file=SimpleUploadedFile("a.txt", b"ok"), produced_by_command="x" * 81
    )


def test_it_refuses_evidence_captured_in_the_future(attach):
    from datetime import timedelta

    from django.utils import timezone

    assert_refused(
        attach,
        "cannot be captured in the future",
        file=SimpleUploadedFile("a.txt", b"ok"),
        captured_at=timezone.now() + timedelta(days=1),
    )


def test_it_refuses_more_than_one_source(attach):
    assert_refused(attach, "exactly one", file=SimpleUploadedFile("a.txt", b"ok"), output="ok")


def test_it_refuses_a_buyer_as_uploader(tenant, db):
    from django.contrib.auth import get_user_model

    from core.errors import NotPermitted

    buyer = get_user_model().objects.create_user("buyer", password="x")
    with pytest.raises(NotPermitted):
        evidence_attach(tenant=tenant, gate_key=GATE, requirement_key=REQ, by=buyer, output="ok")
    assert EvidenceAttachment.objects.count() == 0


# Streaming hash --------------------------------------------------------------------------------


class ChunkOnlyUpload(TemporaryUploadedFile):
    """An upload that fails the test if anything reads it whole instead of in chunks."""

    reads: list[int]

    def read(self, size=-1):
        assert size is not None and 0 < size <= validation.CHUNK_SIZE, f"read whole (size={size})"
        self.reads.append(size)
        return self.file.read(size)


def test_it_hashes_a_multi_chunk_file_while_streaming(attach):
    line = "2026-05-01T10:00:00Z PASSED check managed-beta page answered 200 in 41 ms \u2713\n".encode()
    data = line * (3 * 1024 * 1024 // len(line) + 1)  # over 3 MiB: bigger than FILE_UPLOAD_MAX_MEMORY_SIZE
    upload = ChunkOnlyUpload("run.log", "text/plain", len(data), "utf-8")
    upload.reads = []
    upload.file.write(data)
    upload.file.seek(0)

    attachment = attach(file=upload)

    assert len(upload.reads) >= len(data) // validation.CHUNK_SIZE
    assert attachment.sha256 == hashlib.sha256(data).hexdigest()
    assert attachment.size == len(data)
    with attachment.file.open("rb") as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == attachment.sha256
    assert evidence_verify(attachment=attachment).ok
    upload.close()  # the storage moved the temporary file; closing must not trip over that


def test_it_hashes_urls_and_pasted_output_too(attach):
    url = attach(url="https://portal.thesmios.example/healthz")
    assert url.sha256 == hashlib.sha256(b"https://portal.thesmios.example/healthz").hexdigest()
    output = attach(output="PASSED managed-beta page\n")
    assert output.sha256 == hashlib.sha256(b"PASSED managed-beta page\n").hexdigest()
    assert EvidenceAttachment.objects.count() == 2


# URLs and pasted output ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://portal.example.com/", "Only https:// URLs"),
        ("ftp://files.example.com/proof.json", "Only https:// URLs"),
        ("javascript:alert(1)", "has no host"),
        ("https://user:secret@portal.example.com/", "user name or password"),
        ("http://127.0.0.1:8000/healthz", "only for a loopback host when DEBUG is on"),
        ("https://portal.example.com/a b", "spaces or control characters"),
    ],
)
def test_it_refuses_urls_that_are_not_https(attach, url, reason):
    assert_refused(attach, reason, url=url)


def test_it_accepts_http_to_loopback_only_in_debug(attach, settings):
    settings.DEBUG = True
    assert attach(url="http://127.0.0.1:8000/healthz").url == "http://127.0.0.1:8000/healthz"
    assert attach(url="http://localhost:8000/").pk
    with pytest.raises(ValidationError, match="Only https"):
        attach(url="http://portal.example.com/")


def test_it_limits_pasted_output(attach, settings):
    settings.EVIDENCE_MAX_OUTPUT_CHARS = 100
    assert_refused(attach, "the limit is 100 (EVIDENCE_MAX_OUTPUT_CHARS)", output="x" * 101)
    assert attach(output="x" * 100).size == 100


def test_it_refuses_blank_or_binary_output(attach):
    assert_refused(attach, "empty", output="   \n")
    assert_refused(attach, "NUL", output="ok\x00")


# Uploads over HTTP: inspected by the upload handler while they stream in ----------------------

ADD = "/admin/evidence/evidenceattachment/add/"
BIG = django_settings.FILE_UPLOAD_MAX_MEMORY_SIZE + 512 * 1024  # streamed to a temporary file


def add_form(tenant, **extra):
    return {
        "tenant": tenant.pk,
        "requirement": f"{GATE}/{REQ}",
        "captured_at_0": "2026-01-15",
        "captured_at_1": "10:00:00",
        "note": "",
        "url": "",
        "output": "",
        **extra,
    }


def form_errors(response) -> str:
    form = response.context["adminform"].form
    return " ".join(message for messages in form.errors.values() for message in messages)


def log_bytes(size: int) -> bytes:
    line = "2026-05-01T10:00:00Z PASSED check managed-beta page answered 200 in 41 ms \u2713\n".encode()
    return (line * (size // len(line) + 1))[:size].rsplit(b"\n", 1)[0] + b"\n"


def parsed_upload(rf, name: str, content: bytes):
    """The uploaded file as the server side holds it once the request body has been read."""
    request = rf.post("/upload", {"file": SimpleUploadedFile(name, content)})
    return request.FILES["file"]


@pytest.fixture
def temp_dir(tmp_path, settings):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    return tmp_path


def test_it_hashes_a_multi_chunk_upload_through_the_admin_as_it_streams_in(client, staff, tenant, temp_dir):
    data = log_bytes(3 * 1024 * 1024)
    assert len(data) > 10 * uploads.InspectingUploadHandler.chunk_size
    client.force_login(staff["operator"])

    response = client.post(ADD, add_form(tenant, file=SimpleUploadedFile("run.log", data)))

    assert response.status_code == 302, form_errors(response)
    assert isinstance(response.wsgi_request.FILES["file"], TemporaryUploadedFile)
    attachment = EvidenceAttachment.objects.get()
    assert attachment.sha256 == hashlib.sha256(data).hexdigest()
    assert (attachment.size, attachment.original_name) == (len(data), "run.log")
    assert attachment.content_type == "text/plain; charset=utf-8"
    with attachment.file.open("rb") as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == attachment.sha256
    assert evidence_verify(attachment=attachment).ok
    assert list(temp_dir.iterdir()) == []  # the temporary file was moved into storage, not copied


def test_the_handler_records_the_hash_and_the_form_and_service_reuse_it(rf, temp_dir):
    data = b"%PDF-1.7\n" + bytes(range(256)) * (BIG // 256)
    upload = parsed_upload(rf, "dpia.pdf", data)

    assert isinstance(upload, TemporaryUploadedFile)
    recorded = uploads.recorded_inspection(upload)
    assert isinstance(recorded, validation.InspectedFile)
    assert recorded.sha256 == hashlib.sha256(data).hexdigest()
    assert (recorded.size, recorded.content_type) == (len(data), "application/pdf")
    # Read from the record, not from the file: the very same result, every time.
    assert uploads.inspection(upload) is recorded
    assert uploads.inspection(upload) is recorded
    assert Path(upload.temporary_file_path()).read_bytes() == data
    upload.close()


def test_a_small_upload_is_inspected_in_memory_as_it_streams_in(rf):
    upload = parsed_upload(rf, "smoke.json", b'{"passed": true}')
    assert not isinstance(upload, TemporaryUploadedFile)
    assert uploads.recorded_inspection(upload).sha256 == hashlib.sha256(b'{"passed": true}').hexdigest()


def test_a_recorded_result_is_not_used_once_the_file_has_changed(rf, temp_dir):
    data = log_bytes(BIG)
    upload = parsed_upload(rf, "run.log", data)
    recorded = uploads.recorded_inspection(upload)
    assert recorded is not None

    upload.seek(0, os.SEEK_END)
    upload.write(b"one more line\n")
    upload.seek(0)

    assert uploads.recorded_inspection(upload) is None
    fresh = uploads.inspection(upload)
    assert fresh is not recorded
    assert fresh.sha256 == hashlib.sha256(data + b"one more line\n").hexdigest()
    upload.close()


def test_a_recorded_result_is_not_used_for_a_renamed_file(rf):
    upload = parsed_upload(rf, "run.log", b"PASSED\n")
    upload.name = "run.pdf"
    assert uploads.recorded_inspection(upload) is None
    with pytest.raises(ValidationError, match="is not a PDF"):
        uploads.inspection(upload)


def test_only_the_handler_can_record_a_result(attach):
    content = b"PASSED managed-beta page\n"
    upload = SimpleUploadedFile("run.log", content)
    upload.inspection = validation.InspectedFile(  # an attribute proves nothing
        name="run.log", sha256="0" * 64, size=1, content_type="text/plain", file_type=validation.FILE_TYPES[1]
    )
    assert uploads.recorded_inspection(upload) is None
    attachment = attach(file=upload)
    assert attachment.sha256 == hashlib.sha256(content).hexdigest()


def test_the_handler_keeps_nothing_of_an_oversized_upload(rf, settings, temp_dir):
    settings.EVIDENCE_MAX_UPLOAD_BYTES = 1024 * 1024
    upload = parsed_upload(rf, "huge.log", log_bytes(BIG))

    error = uploads.recorded_inspection(upload)
    assert isinstance(error, ValidationError)
    assert "larger than the 1 MiB upload limit (EVIDENCE_MAX_UPLOAD_BYTES)" in " ".join(error.messages)
    # It stopped writing at the limit and dropped what it had: a 2 GB upload cannot fill the disk.
    assert os.path.getsize(upload.temporary_file_path()) == 0
    assert upload.size == len(log_bytes(BIG))
    # A refusal sticks, whatever happens to the file afterwards.
    upload.name = "renamed.log"
    with pytest.raises(ValidationError, match="upload limit"):
        uploads.inspection(upload)
    upload.close()
    assert list(temp_dir.iterdir()) == []


def test_an_oversized_upload_through_the_admin_is_refused_and_nothing_is_stored(
    client, staff, tenant, settings, temp_dir
):
    settings.EVIDENCE_MAX_UPLOAD_BYTES = 2 * 1024 * 1024
    client.force_login(staff["operator"])
    before = media_files()

    response = client.post(ADD, add_form(tenant, file=SimpleUploadedFile("huge.log", log_bytes(BIG))))

    assert response.status_code == 200
    assert "huge.log is larger than the 2 MiB upload limit (EVIDENCE_MAX_UPLOAD_BYTES)" in form_errors(response)
    assert EvidenceAttachment.objects.count() == 0
    assert media_files() == before
    assert list(temp_dir.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        ("snapshot.png", png_bytes(b"Comment\x00<html><script>alert(1)</script></html>"), "contains HTML (<html"),
        ("dpia.pdf", b"%PDF-1.4\n<html><body>hi</body></html>" + b"\x00" * BIG, "contains HTML (<html"),
        ("run.log", log_bytes(BIG) + b"<iframe src=//evil>\n", "contains HTML (<iframe"),
        ("smoke.json", b'{"log": "' + b"a" * BIG + b'"', "is not valid JSON"),
        ("shot.png", b"GIF89a" + b"\x00" * BIG, "is not a PNG image"),
        ("page.html", b"<p>hi</p>" * (BIG // 9), ".html files are not accepted"),
    ],
)
def test_a_refused_upload_through_the_admin_shows_on_the_form(client, staff, tenant, temp_dir, name, content, error):
    client.force_login(staff["operator"])
    before = media_files()

    response = client.post(ADD, add_form(tenant, file=SimpleUploadedFile(name, content)))

    assert response.status_code == 200
    assert error in form_errors(response)
    assert EvidenceAttachment.objects.count() == 0
    assert media_files() == before
    assert list(temp_dir.iterdir()) == []
