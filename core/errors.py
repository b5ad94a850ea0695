"""The refusals every service raises and every surface translates into its own answer."""

from __future__ import annotations

from collections.abc import Sequence


class Refused(Exception):
    """A rule refused the change; ``reasons`` say why, in plain words."""

    def __init__(self, reasons: Sequence[str] | str):
        self.reasons = [reasons] if isinstance(reasons, str) else list(reasons)
        super().__init__("; ".join(self.reasons))


class NotPermitted(Refused):
    """The acting user's role does not allow the change (403 in the API)."""
