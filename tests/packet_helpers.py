"""What the launch packet tests share: a signing key, an export, a packet's members, the verifiers."""

from __future__ import annotations

import zipfile
from io import StringIO
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command

from evidence.services import evidence_attach

ROOT = Path(__file__).resolve().parent.parent


def new_key() -> tuple[str, bytes]:
    """A fresh Ed25519 key: its private PEM text and its public PEM bytes."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private.decode(), public


def portal_key(settings: object, tmp_path: Path) -> Path:
    """Give the portal a fresh packet key; the path of its public half (as a buyer would save it)."""
    private, public = new_key()
    settings.PACKET_SIGNING_KEY = private  # type: ignore[attr-defined]
    path = tmp_path / "portal-key.pem"
    path.write_bytes(public)
    return path


def export(tmp_path: Path, slug: str = "globex") -> Path:
    output = tmp_path / f"{slug}.zip"
    call_command("export_launch_packet", slug, "--output", str(output), stdout=StringIO())
    return output


def new_evidence(tenant: Any, staff: dict[str, Any]) -> None:
    """A newer DPIA decision, attached by the operator through the service after the signature:
    the readiness the buyer signed against changed."""
    evidence_attach(
        tenant=tenant,
        gate_key="security-procurement-pack",
        requirement_key="dpia-or-risk-decision",
        by=staff["operator"],
        output="A newer DPIA decision",
    )


def verify_command(path: Path, *key: str) -> tuple[str, CommandError | None]:
    out = StringIO()
    try:
        call_command("verify_launch_packet", str(path), *key, stdout=out)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def member(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read(name)
