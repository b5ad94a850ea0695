"""Acceptance records as JSON, and service errors as field errors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.urls import reverse

from launchroom.models import AcceptanceRecord


def utc_iso(value: datetime | None) -> str | None:
    """An aware datetime as ISO 8601 in UTC with a ``Z``."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def acceptance_json(record: AcceptanceRecord, *, tenant_slug: str, superseded_by: int | None) -> dict[str, Any]:
    """The public shape of an acceptance record (the API answer and the certificate's JSON).

    ``record`` needs ``recorded_by`` and ``order_form`` loaded; ``superseded_by`` is derived
    from the ``supersedes`` link by the caller, never stored on the row.
    """
    return {
        "id": record.pk,
        "tenant": tenant_slug,
        "stage": record.stage,
        "decision": record.decision,
        "status": "superseded" if superseded_by else "current",
        "supersedes": record.supersedes_id,
        "superseded_by": superseded_by,
        "signer_name": record.signer_name,
        "signer_role": record.signer_role,
        "signer_email": record.signer_email,
        "on_written_approval": record.on_written_approval,
        "recorded_by": record.recorded_by.get_username(),
        "approval_reference": record.approval_reference,
        "order_form_version": record.order_form.version if record.order_form else None,
        "exclusions": record.exclusions,
        "residual_risks": record.residual_risks,
        "note": record.note,
        "evidence_references": record.evidence_references,
        "affirmation": record.affirmation,
        "signed_at": utc_iso(record.signed_at),
        "client_address": record.client_address,
        "user_agent": record.user_agent,
        "snapshot_sha256": record.snapshot_sha256,
        "certificate_url": reverse("launchroom:certificate", args=[tenant_slug, record.pk]),
    }


def validation_errors(exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {name: list(messages) for name, messages in exc.message_dict.items()}
    return {"__all__": list(exc.messages)}
