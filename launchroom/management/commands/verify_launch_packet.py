"""Verify a launch packet offline: every file's SHA-256 and the manifest's Ed25519 signature.

    python manage.py verify_launch_packet packet.zip [--key thesmios-packet-key.pem]

Without ``--key`` the portal's own public key (from ``PACKET_SIGNING_KEY``) is used. The
same check runs without Django as ``tools/verify_packet.py FILE --key PEM``.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from core.history import SystemCommand
from launchroom.packet.keys import PacketKeyMissing, public_key_pem
from launchroom.packet.verify import BadKey, verify_packet


class Command(SystemCommand):
    help = "Check a launch packet's file hashes and Ed25519 signature; name each file that fails."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", metavar="FILE", help="The launch packet ZIP.")
        parser.add_argument("--key", metavar="PEM_FILE", help="Public key (default: this portal's packet key).")

    def handle(self, *args: Any, file: str, key: str | None = None, **options: Any) -> None:
        try:
            if key:
                with open(key, "rb") as fh:
                    pem = fh.read()
            else:
                pem = public_key_pem()
            problems, manifest = verify_packet(file, pem)
        except OSError as exc:
            raise CommandError(f"cannot read {exc.filename}: {exc.strerror or exc}") from None
        except (BadKey, PacketKeyMissing) as exc:
            raise CommandError(str(exc)) from None
        if problems:
            for problem in problems:
                self.stdout.write(f"FAILED {problem}")
            raise CommandError(f"{file} does not verify: {len(problems)} problem(s)")
        self.stdout.write(
            f"OK {file}: {len(manifest['files'])} files match the manifest, and its Ed25519 signature holds"
        )
