#!/usr/bin/env python3
"""Verify a Thesmios launch packet offline: every file's SHA-256 and the Ed25519 signature.

    python verify_packet.py thesmios-launch-packet.zip --key thesmios-packet-key.pem

Needs only the Python standard library and ``cryptography``; no Django, no network. The
public key is required: take it from the portal's published
``/.well-known/thesmios-packet-key.pem`` (or from the portal's operators), never from the
packet alone, since whoever changes a packet can re-sign it with a key of their own.

Exit 0 when the signature over ``manifest.json`` holds and every file matches its hash;
otherwise exit 1, naming each file that does not.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import sys
import zipfile
import zlib
from collections import Counter
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
CHUNK = 1024 * 1024


class BadKey(ValueError):
    """The public key file is not an Ed25519 public key."""


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError:
        raise BadKey("the key is not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise BadKey("the key is not an Ed25519 public key")
    return key


def _sha256_member(archive: zipfile.ZipFile, name: str) -> str:
    digest = hashlib.sha256()
    with archive.open(name) as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_packet(path: str, public_key_pem: bytes) -> tuple[list[str], dict[str, Any]]:
    """Check a packet against a public key: (problems, manifest). No problems: it holds.

    Each problem starts with the name of the file it concerns.
    """
    key = load_public_key(public_key_pem)
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        return [f"{path}: not a readable ZIP file ({exc})"], {}
    problems: list[str] = []
    with archive:
        names = archive.namelist()
        for name, count in Counter(names).items():
            if count > 1:
                problems.append(f"{name}: appears {count} times in the ZIP")
        if MANIFEST not in names or SIGNATURE not in names:
            missing = [n for n in (MANIFEST, SIGNATURE) if n not in names]
            return problems + [f"{n}: missing from the packet" for n in missing], {}
        manifest_bytes = archive.read(MANIFEST)
        try:
            signature = base64.b64decode(archive.read(SIGNATURE).strip(), validate=True)
            key.verify(signature, manifest_bytes)
        except (InvalidSignature, binascii.Error, ValueError):
            problems.append(
                f"{MANIFEST}: the Ed25519 signature does not hold for this key (the manifest was changed, or "
                "signed with another key)"
            )
        try:
            manifest = json.loads(manifest_bytes)
            files = manifest["files"]
            listed = {entry["path"]: entry["sha256"] for entry in files}
        except (ValueError, KeyError, TypeError):
            return [*problems, f"{MANIFEST}: not a launch packet manifest"], {}
        for name, expected in listed.items():
            if name not in names:
                problems.append(f"{name}: listed in the manifest but missing from the packet")
                continue
            try:
                actual = _sha256_member(archive, name)
            except (zipfile.BadZipFile, zlib.error, OSError) as exc:
                problems.append(f"{name}: damaged in the ZIP ({exc})")
                continue
            if actual != expected:
                problems.append(f"{name}: SHA-256 {actual} differs from the manifest's {expected}")
        for name in names:
            if name not in listed and name not in (MANIFEST, SIGNATURE):
                problems.append(f"{name}: in the packet but not listed in the manifest")
    return problems, manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify a Thesmios launch packet offline.")
    parser.add_argument("file", help="the launch packet ZIP")
    parser.add_argument("--key", required=True, help="the portal's public key (PEM), from its published URL")
    args = parser.parse_args(argv)
    try:
        with open(args.key, "rb") as fh:
            pem = fh.read()
        problems, manifest = verify_packet(args.file, pem)
    except (OSError, BadKey) as exc:
        print(f"cannot verify: {exc}", file=sys.stderr)
        return 1
    if problems:
        for problem in problems:
            print(f"FAILED {problem}")
        return 1
    print(f"OK {args.file}: {len(manifest['files'])} files match the manifest, and its Ed25519 signature holds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
