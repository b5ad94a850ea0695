"""The portal's launch-packet key (Ed25519) and the certificates' verification codes.

The private key comes from ``PACKET_SIGNING_KEY`` (the PEM text of an Ed25519 private
key). Without it the rest of the portal runs; packet export and the published key answer
``PacketKeyMissing``'s text, and ``check --deploy`` fails naming the variable.

A verification code is derived, never stored: ``<record id>-<HMAC>`` with an HMAC-SHA256
of the record id under a key derived from ``SECRET_KEY`` (``salted_hmac``; codes made under
a key in ``SECRET_KEY_FALLBACKS`` still verify). Signed records are never written again,
so nothing is added to them; 120 bits of HMAC make a code unguessable.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.checks import CheckMessage, Error, register
from django.utils.crypto import constant_time_compare, salted_hmac

SETTING = "PACKET_SIGNING_KEY"
CODE_SALT = "thesmios.launch-packet.verification-code"
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


def _mac(record_id: int, secret: str | bytes) -> str:
    digest = salted_hmac(CODE_SALT, f"acceptance:{record_id}", secret=secret, algorithm="sha256").digest()
    return base64.b32encode(digest[:15]).decode().lower()


def verification_code(record_id: int) -> str:
    return f"{record_id}-{_mac(record_id, settings.SECRET_KEY)}"


def record_id_for_code(code: str) -> int | None:
    """The acceptance record id a code names, or None when the code is not one of ours."""
    head, _, mac = code.partition("-")
    if not head.isdigit() or len(head) > 18 or not mac:
        return None
    record_id = int(head)
    for secret in (settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])):
        if constant_time_compare(mac, _mac(record_id, secret)):
            return record_id
    return None


@register("security", deploy=True)
def check_packet_key(app_configs: object = None, **kwargs: object) -> list[CheckMessage]:
    """``check --deploy``: a deployment signs launch packets, so it needs its key."""
    try:
        signing_key()
    except PacketKeyMissing as exc:
        return [Error(str(exc), hint="Generate one with: openssl genpkey -algorithm ed25519", id="thesmios.E010")]
    return []
