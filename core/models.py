"""Throttle counters: derived rows, shared by every worker through the database."""

from __future__ import annotations

from django.db import models


class Throttle(models.Model):
    """How many times ``scope`` happened for ``key`` in the window starting at ``window_start``.

    Derived, short-lived data (no history): rows of past windows are deleted as new ones
    are counted. ``key`` is a SHA-256 of what is counted (an address, an e-mail), so the
    table holds no personal data in clear.
    """

    scope = models.CharField(max_length=60)
    key = models.CharField(max_length=64)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-window_start", "scope", "key"]
        constraints = [
            models.UniqueConstraint(fields=["scope", "key", "window_start"], name="throttle_one_row_per_window"),
        ]
        indexes = [models.Index(fields=["scope", "window_start"], name="throttle_scope_window")]

    def __str__(self) -> str:
        return f"{self.scope} {self.key[:12]}… {self.count} since {self.window_start:%Y-%m-%d %H:%M}"
