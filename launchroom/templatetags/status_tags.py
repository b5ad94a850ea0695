"""``{% status key %}`` and ``{% tone tone words %}``: the one status vocabulary (core/status.py)
in templates, so the room, the certificate, the dashboard, the public pages and the admin
show a status with the same words and the same colour."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from core import status as vocabulary

register = template.Library()


@register.simple_tag
def status(key: str) -> SafeString:
    """The badge of a readiness, decision, acceptance, order-form or requirement status."""
    return vocabulary.badge(str(key))


@register.simple_tag
def tone(name: str, words: str) -> SafeString:
    """A badge that is not a status of its own ("Current", "In force"), coloured by tone."""
    return vocabulary.tone_badge(name, str(words))


@register.filter
def status_label(key: str) -> str:
    """Only the words of a status (where the colour comes from around it, e.g. the verdict)."""
    return vocabulary.label(str(key))
