"""Check the HMAC-SHA256 signature of a proof written by ``operator_launch_proof``.

    LAUNCH_OPERATIONS_SECRET=<secret> python manage.py verify_proof /tmp/thesmios-operator-proof.json

Exits 0 when the signature matches the canonical JSON of the rest of the file under
``LAUNCH_OPERATIONS_SECRET``; any change to the file, or another secret, exits 1.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from django.core.management.base import CommandError, CommandParser

from core.hashing import canonical_json
from core.history import SystemCommand
from launchroom.proofs.operator_run import SECRET_VARIABLE, operations_secret, sign


class Command(SystemCommand):
    help = "Verify the HMAC-SHA256 signature of an operator launch proof JSON file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", metavar="FILE", help="The proof JSON written by operator_launch_proof --output.")

    def handle(self, *args: Any, file: str, **options: Any) -> None:
        secret = operations_secret()
        if not secret:
            raise CommandError(f"set {SECRET_VARIABLE} to the secret the proof was signed with")
        try:
            with open(file, "rb") as fh:
                data = json.loads(fh.read().decode("utf-8"))
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror or exc}") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CommandError(f"{file} is not a JSON proof: {str(exc).splitlines()[0]}") from None
        if not isinstance(data, dict) or not isinstance(data.get("signature"), str):
            raise CommandError(f"{file} has no signature")
        body = {k: v for k, v in data.items() if k != "signature"}
        if not hmac.compare_digest(sign(body, secret), data["signature"]):
            raise CommandError(
                f"signature mismatch: {file} was changed after it was signed, or signed with another secret"
            )
        # The signature covers the sha256 field too; a mismatch here means a bug, not tampering.
        content = {k: v for k, v in body.items() if k != "sha256"}
        if body.get("sha256") != hashlib.sha256(canonical_json(content).encode()).hexdigest():
            raise CommandError(f"{file} is signed but its sha256 field does not match its content")
        counts = body.get("counts") or {}
        verdict = "every check passed" if body.get("passed") else f"{counts.get('failed', '?')} check(s) FAILED"
        self.stdout.write(
            f"OK {file}: valid {body.get('signature_algorithm', 'HMAC-SHA256')} signature; "
            f"{body.get('command')} against {body.get('url')} finished {body.get('finished_at')}, {verdict}"
        )
