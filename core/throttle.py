"""Fixed-window counters in the database, so every worker sees the same counts."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from core.models import Throttle


def _window_start(now: datetime, window_seconds: int) -> datetime:
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % window_seconds, tz=UTC)


def throttle_key(value: str) -> str:
    """What a throttle row stores for ``value``: its SHA-256, case-folded."""
    return hashlib.sha256(value.strip().casefold().encode("utf-8", "surrogatepass")).hexdigest()


def throttle_hit(*, scope: str, value: str, limit: int, window_seconds: int) -> bool:
    """Count one more ``scope`` event for ``value``; False (nothing counted) past ``limit``.

    The count is raised by a conditional UPDATE, so two workers racing for the last slot
    cannot both get it. Call it inside the transaction that does the counted work: if that
    work is refused and rolled back, so is the count.
    """
    now = timezone.now()
    start = _window_start(now, window_seconds)
    key = throttle_key(value)
    with transaction.atomic():
        Throttle.objects.filter(scope=scope, window_start__lt=start - timedelta(seconds=window_seconds)).delete()
        try:
            with transaction.atomic():
                Throttle.objects.get_or_create(scope=scope, key=key, window_start=start)
        except IntegrityError:  # another worker created it first; the row is there now
            pass
        counted = Throttle.objects.filter(scope=scope, key=key, window_start=start, count__lt=limit).update(
            count=F("count") + 1
        )
    return counted == 1


def retry_after_seconds(window_seconds: int) -> int:
    """Seconds until the current window ends."""
    now = timezone.now()
    return max(1, int((_window_start(now, window_seconds) + timedelta(seconds=window_seconds) - now).total_seconds()))
