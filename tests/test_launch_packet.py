"""The launch packet: export, both verifiers, tampering, the published key, verification codes."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import zipfile
from io import StringIO
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from django.core.management import CommandError, call_command
from django.core.management.base import SystemCheckError
from django.urls import reverse

from launchroom import demo
from launchroom.acceptance.certificate import verification_code
from launchroom.tenants.services import membership_add
from tests.launch_helpers import buyer, like_demo
from tests.packet_helpers import ROOT, export, member, new_evidence, new_key, portal_key, verify_command


@pytest.fixture
def key(settings, tmp_path):
    return portal_key(settings, tmp_path)


@pytest.fixture
def globex(db, key):
    return like_demo("globex")


def verify_tool(path: Path, key: Path) -> subprocess.CompletedProcess[str]:
    """tools/verify_packet.py in a fresh interpreter, which must never import Django."""
    script = (
        "import runpy, sys\n"
        f"sys.argv = ['verify_packet.py', {str(path)!r}, '--key', {str(key)!r}]\n"
        "try:\n"
        f"    runpy.run_path({str(ROOT / 'tools' / 'verify_packet.py')!r}, run_name='__main__')\n"
        "except SystemExit as exc:\n"
        "    assert 'django' not in sys.modules, 'the standalone verifier imported Django'\n"
        "    raise\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run([sys.executable, "-c", script], cwd="/", env=env, capture_output=True, text=True, timeout=60)


def rewrite(path: Path, change: dict[str, bytes]) -> None:
    """Rewrite a ZIP with some members' bytes replaced (as a forger would: CRCs made right)."""
    with zipfile.ZipFile(path) as old:
        members = [(info, old.read(info.filename)) for info in old.infolist()]
    with zipfile.ZipFile(path, "w") as new:
        for info, data in members:
            new.writestr(info, change.get(info.filename, data))


def test_it_exports_a_packet_that_both_verifiers_accept(globex, key, tmp_path):
    packet = export(tmp_path)

    with zipfile.ZipFile(packet) as archive:
        names = set(archive.namelist())
    assert {
        "certificate/certificate.pdf",
        "certificate/certificate.json",
        "order-form/order-form-v1.pdf",
        "order-form/order-form-v1.json",
        "decision-log.json",
        "public-key.pem",
        "tools/verify_packet.py",
        "README.txt",
        "manifest.json",
        "manifest.sig",
    } <= names
    manifest = json.loads(member(packet, "manifest.json"))
    assert {f["path"] for f in manifest["files"]} == names - {"manifest.json", "manifest.sig"}
    record = globex.acceptance_records.get()
    evidence = [n for n in names if n.startswith("evidence/") and n != "evidence/index.json"]
    assert len(evidence) == len(record.evidence_references) > 10
    assert member(packet, "certificate/certificate.pdf").startswith(b"%PDF-")
    certificate = json.loads(member(packet, "certificate/certificate.json"))
    assert certificate["verification_code"] == verification_code(record.pk)
    assert certificate["decision"] == "accepted" and certificate["tenant_name"] == "Globex Corporation"
    log = json.loads(member(packet, "decision-log.json"))["links"]
    assert [link["seq"] for link in log] == list(range(1, len(log) + 1)) and log[-1]["entry_hash"]
    assert member(packet, "public-key.pem") == key.read_bytes()

    out, error = verify_command(packet)
    assert error is None and out.startswith(f"OK {packet}")
    out, error = verify_command(packet, "--key", str(key))
    assert error is None
    done = verify_tool(packet, key)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(f"OK {packet}")


def test_one_changed_byte_in_one_file_fails_naming_that_file(globex, key, tmp_path):
    packet = export(tmp_path)
    name = "order-form/order-form-v1.json"
    data = bytearray(member(packet, name))
    data[10] ^= 0x01
    rewrite(packet, {name: bytes(data)})

    out, error = verify_command(packet)
    assert error is not None
    assert f"FAILED {name}: SHA-256" in out
    assert out.count("FAILED") == 1
    done = verify_tool(packet, key)
    assert done.returncode == 1 and f"FAILED {name}: SHA-256" in done.stdout


def test_a_changed_manifest_fails_naming_the_manifest(globex, key, tmp_path):
    packet = export(tmp_path)
    manifest = json.loads(member(packet, "manifest.json"))
    manifest["acceptance"]["decision"] = "accepted_with_exclusions"
    rewrite(packet, {"manifest.json": json.dumps(manifest, indent=2, sort_keys=True).encode()})

    out, error = verify_command(packet)
    assert error is not None and "FAILED manifest.json: the Ed25519 signature does not hold" in out
    done = verify_tool(packet, key)
    assert done.returncode == 1 and "FAILED manifest.json" in done.stdout


def test_a_packet_resigned_with_another_key_fails(globex, key, tmp_path):
    packet = export(tmp_path)
    forged_private, forged_public = new_key()
    forger = serialization.load_pem_private_key(forged_private.encode(), password=None)
    manifest_bytes = member(packet, "manifest.json")
    rewrite(
        packet,
        {"manifest.sig": base64.b64encode(forger.sign(manifest_bytes)) + b"\n", "public-key.pem": forged_public},
    )
    # The public-key.pem inside changed too, and is listed in the manifest; the signature is what fails.
    out, error = verify_command(packet, "--key", str(key))
    assert error is not None and "FAILED manifest.json: the Ed25519 signature does not hold" in out
    assert verify_tool(packet, key).returncode == 1


def test_the_published_key_verifies_the_download(client, globex, tmp_path):
    client.force_login(buyer("globex"))
    response = client.get(reverse("launchroom:packet", args=["globex"]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="thesmios-launch-packet-globex-')
    packet = tmp_path / "download.zip"
    packet.write_bytes(b"".join(response.streaming_content))
    published = client.get("/.well-known/thesmios-packet-key.pem")
    assert published.status_code == 200 and published.content.startswith(b"-----BEGIN PUBLIC KEY-----")
    key = tmp_path / "published.pem"
    key.write_bytes(published.content)
    assert verify_tool(packet, key).returncode == 0


def test_the_packet_url_is_isolated(client, staff, globex):
    url = reverse("launchroom:packet", args=["globex"])
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    like_demo("initech")
    client.force_login(buyer("initech"))
    assert client.get(url).status_code == 404
    assert client.get(reverse("launchroom:packet", args=["no-such-tenant"])).status_code == 404
    viewer = demo.User.objects.create_user("viewer-globex", password="x")
    membership_add(tenant=globex, user=viewer, role="viewer", by=staff["commercial"])
    client.force_login(viewer)
    assert client.get(url).status_code == 200
    client.force_login(staff["finance"])
    assert client.get(url).status_code == 200


def test_a_tenant_without_a_current_acceptance_has_no_packet(client, staff, key, tmp_path):
    like_demo("contoso")
    client.force_login(staff["operator"])
    response = client.get(reverse("launchroom:packet", args=["contoso"]))
    assert response.status_code == 409 and b"no current acceptance record" in response.content
    with pytest.raises(CommandError, match="no current acceptance record"):
        export(tmp_path, "contoso")
    assert not (tmp_path / "contoso.zip").exists()


def test_without_a_key_the_packet_and_key_urls_say_so_and_deploy_checks_fail(client, globex, settings, tmp_path):
    settings.PACKET_SIGNING_KEY = ""
    client.force_login(buyer("globex"))
    for url in (reverse("launchroom:packet", args=["globex"]), "/.well-known/thesmios-packet-key.pem"):
        response = client.get(url)
        assert response.status_code == 503
        assert b"set PACKET_SIGNING_KEY" in response.content
    assert client.get(reverse("launchroom:room", args=["globex"])).status_code == 200
    with pytest.raises(CommandError, match="PACKET_SIGNING_KEY"):
        export(tmp_path)
    with pytest.raises(SystemCheckError, match="PACKET_SIGNING_KEY"):
        call_command("check", "--deploy", stdout=StringIO(), stderr=StringIO())
    settings.PACKET_SIGNING_KEY = "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"
    assert client.get("/.well-known/thesmios-packet-key.pem").status_code == 503


# The verification page -----------------------------------------------------------------------


def test_the_verification_page_says_current_superseded_or_changed(client, staff, globex):
    record = globex.acceptance_records.get()
    url = reverse("verify", args=[verification_code(record.pk)])

    page = client.get(url).content.decode()
    assert "Current: this acceptance stands" in page
    assert "Globex Corporation" in page and "Paid beta (invoice-led)" in page and "Accepted" in page
    for private in (record.signer_email, record.approval_reference, record.snapshot_sha256, "globex"):
        assert private not in page

    new_evidence(globex, staff)  # the readiness the buyer saw changed
    assert "No longer matches" in client.get(url).content.decode()

    demo.sign_acceptance(globex, buyer("globex"), "paid_beta")
    assert "Superseded" in client.get(url).content.decode()


@pytest.mark.parametrize("code", ["1-aaaaaaaaaaaaaaaaaaaaaaaa", "nonsense", "99999-x", "1", "-"])
def test_a_wrong_code_is_404(client, globex, code):
    assert client.get(reverse("verify", args=[code])).status_code == 404


def test_the_certificate_shows_its_verification_code_and_url(client, globex):
    record = globex.acceptance_records.get()
    client.force_login(buyer("globex"))
    page = client.get(reverse("launchroom:certificate", args=["globex", record.pk])).content.decode()
    code = verification_code(record.pk)
    assert code in page and f"http://testserver/verify/{code}" in page
    assert verification_code(record.pk) != verification_code(record.pk + 1)
