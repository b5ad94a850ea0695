"""Includes for the launch room: what changed in the order form, and the conversation.

They read what the room already loaded (``readiness.data``), so they add at most one query.
"""

from __future__ import annotations

from typing import Any

from django import template

from launchroom.conversation.views import conversation_context
from launchroom.orderforms.room import changes_since_signed as _changes_since_signed
from launchroom.readiness.selectors import TenantData

register = template.Library()


@register.inclusion_tag("launchroom/_changes_since_signed.html")
def changes_since_signed(data: TenantData) -> dict[str, Any]:
    return {"since_signed": _changes_since_signed(data), "tenant": data.tenant}


@register.inclusion_tag("launchroom/_conversation.html", takes_context=True)
def conversation(context: Any, data: TenantData, role: str | None) -> dict[str, Any]:
    request = context["request"]
    result = conversation_context(data.tenant, request.user, role, order_forms=data.order_forms)
    result["next"] = request.path
    result["csrf_token"] = context.get("csrf_token")
    return result
