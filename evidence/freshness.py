"""When a piece of evidence stops counting: its freshness limit and integrity."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from evidence.models import EvidenceAttachment
from launchroom.catalog import DEFAULT_FRESHNESS, Requirement


def freshness_limit(requirement: Requirement) -> timedelta | None:
    if requirement.freshness_days is None:
        return None
    days = (
        settings.EVIDENCE_FRESHNESS_DAYS
        if requirement.freshness_days == DEFAULT_FRESHNESS
        else requirement.freshness_days
    )
    return timedelta(days=int(days))


def attachment_problem(attachment: EvidenceAttachment, requirement: Requirement, now: datetime) -> str:
    """Why an attachment no longer counts ("" when it does): integrity first, then age."""
    if len(attachment.sha256) != 64:
        return "has no valid SHA-256"
    check_ok = getattr(attachment, "check_ok", None)
    if check_ok is False:
        detail = getattr(attachment, "check_detail", "") or "content does not match its SHA-256"
        return f"failed its integrity check ({detail})"
    limit = freshness_limit(requirement)
    if limit is not None and attachment.captured_at < now - limit:
        return f"is older than {limit.days} days"
    return ""
