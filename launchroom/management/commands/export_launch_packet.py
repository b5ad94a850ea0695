"""Write a tenant's signed launch packet (ZIP) to a file.

    PACKET_SIGNING_KEY="$(cat packet-key.pem)" python manage.py export_launch_packet SLUG --output packet.zip

The packet is written to a temporary file beside FILE and moved into place only when it is
complete, so a failed export leaves no half-written packet.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from core.errors import Refused
from core.history import SystemCommand
from launchroom.models import Tenant
from launchroom.packet.build import write_packet
from launchroom.packet.keys import PacketKeyMissing


class Command(SystemCommand):
    help = "Export the signed launch packet of a tenant's current acceptance."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", metavar="SLUG", help="The tenant.")
        parser.add_argument("--output", metavar="FILE", required=True, help="Where to write the ZIP.")

    def handle(self, *args: Any, slug: str, output: str, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f"no tenant {slug!r}")
        folder = os.path.dirname(os.path.abspath(output))
        try:
            fd, partial = tempfile.mkstemp(prefix=".packet-", suffix=".zip", dir=folder)
        except OSError as exc:
            raise CommandError(f"cannot write {output}: {exc.strerror or exc}") from None
        try:
            with os.fdopen(fd, "wb") as fh:
                info = write_packet(tenant, fh, base_url=settings.PORTAL_BASE_URL)
            os.replace(partial, output)
        except (PacketKeyMissing, Refused) as exc:
            raise CommandError(str(exc)) from None
        finally:
            if os.path.exists(partial):
                os.unlink(partial)
        self.stdout.write(
            f"Wrote {output}: acceptance #{info.record.pk} ({info.record.get_decision_display()}, "
            f"{info.record.stage}), {info.files} files, signed with Ed25519"
        )
