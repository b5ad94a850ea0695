"""Small template helpers for the launch room (cheaper than an include in a loop)."""

from __future__ import annotations

from datetime import UTC, datetime

from django import template
from django.utils.dateformat import format as date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timezone import is_aware

register = template.Library()


@register.simple_tag
def when(value: datetime | None) -> SafeString | str:
    """A moment as ``<time>``, in UTC, the way every launch-room page shows it."""
    if value is None:
        return ""
    if is_aware(value):
        value = value.astimezone(UTC)
    return format_html('<time datetime="{}">{} UTC</time>', value.isoformat(), date_format(value, "j M Y, H:i"))
