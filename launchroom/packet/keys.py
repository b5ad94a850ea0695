"""The portal's launch-packet key (Ed25519).

The private key comes from ``PACKET_SIGNING_KEY`` (the PEM text of an Ed25519 private
key). Without it the rest of the portal runs; packet export and the published key answer
``PacketKeyMissing``'s text, and ``check --deploy`` fails naming the variable.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.checks import CheckMessage, Error, register

SETTING = "PACKET_SIGNING_KEY"
MISSING_TEXT = (
    "The launch packet signing key is not configured: set PACKET_SIGNING_KEY to the PEM text of an Ed25519 "
    "private key. Packets cannot be exported or verified against this portal until it is."
)


class PacketKeyMissing(Exception):
    """No usable signing key: the text says what to set."""


@lru_cache(maxsize=4)
def _load(pem: str) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        raise PacketKeyMissing(f"{SETTING} is not a PEM private key without a passphrase.") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise PacketKeyMissing(f"{SETTING} is not an Ed25519 private key.")
    return key


def signing_key() -> Ed25519PrivateKey:
    pem = str(getattr(settings, SETTING, "") or "").strip()
    if not pem:
        raise PacketKeyMissing(MISSING_TEXT)
    return _load(pem)


def public_key_pem() -> bytes:
    return (
        signing_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def public_key_fingerprint(pem: bytes) -> str:
    return hashlib.sha256(pem).hexdigest()


@register("security", deploy=True)
def check_packet_key(app_configs: object = None, **kwargs: object) -> list[CheckMessage]:
    """``check --deploy``: a deployment signs launch packets, so it needs its key."""
    try:
        signing_key()
    except PacketKeyMissing as exc:
        return [Error(str(exc), hint="Generate one with: openssl genpkey -algorithm ed25519", id="thesmios.E010")]
    return []
