"""Evidence attachments: files, URLs or pasted command output proving a gate requirement."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from core.append_only import AppendOnlyModel, append_only_trigger, no_truncate_trigger


def evidence_upload_to(instance: EvidenceAttachment, filename: str) -> str:
    """A server-generated storage name; the uploaded name is kept only as ``original_name``."""
    return f"evidence/{instance.tenant_id}/{uuid.uuid4().hex}"


class EvidenceKind(models.TextChoices):
    FILE = "file", "File"
    URL = "url", "URL"
    OUTPUT = "output", "Pasted output"


class EvidenceAttachment(AppendOnlyModel):
    """One piece of evidence for one requirement of one gate of a tenant.

    Exactly one of a file, a URL or pasted output. An attachment is never edited:
    replacing one means adding a new one, and the old one stays in the history.
    """

    tenant = models.ForeignKey("launchroom.Tenant", on_delete=models.PROTECT, related_name="evidence")
    gate_key = models.CharField(max_length=40)
    requirement_key = models.CharField(max_length=60)
    file = models.FileField(upload_to=evidence_upload_to, blank=True, max_length=200)
    original_name = models.CharField(max_length=200, blank=True)
    url = models.URLField(max_length=1000, blank=True)
    output = models.TextField(blank=True)
    captured_at = models.DateTimeField(help_text="When the evidence was produced (a smoke run's time).")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    produced_by_command = models.CharField(
        max_length=80, blank=True, help_text="The proof command that produced and attached this output."
    )
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField(default=0)
    content_type = models.CharField(max_length=100, blank=True)
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        base_manager_name = "objects"  # the append-only manager, on every ORM path
        triggers = [append_only_trigger(), no_truncate_trigger()]
        ordering = ["-captured_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "gate_key", "requirement_key", "-captured_at"], name="evidence_lookup")
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    (~Q(file="") & Q(url="") & Q(output=""))
                    | (Q(file="") & ~Q(url="") & Q(output=""))
                    | (Q(file="") & Q(url="") & ~Q(output=""))
                ),
                name="evidence_exactly_one_source",
                violation_error_message="Attach exactly one of a file, a URL or pasted output.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id} · {self.gate_key}/{self.requirement_key} ({self.kind})"

    @property
    def short_name(self) -> str:
        """A name for the attachment that never needs its (deferred) pasted output."""
        if self.file:
            return self.original_name or "file"
        if self.url:
            return self.url
        return "Pasted output"

    @property
    def kind(self) -> str:
        if self.file:
            return EvidenceKind.FILE
        if self.url:
            return EvidenceKind.URL
        return EvidenceKind.OUTPUT

    @property
    def display_name(self) -> str:
        if self.file:
            return self.original_name or "file"
        if self.url:
            return self.url
        first = self.output.strip().splitlines()[0] if self.output.strip() else ""
        return (first[:80] + "…") if len(first) > 80 else (first or "pasted output")


class EvidenceCheck(AppendOnlyModel):
    """The result of re-hashing an attachment's stored file (``verify_evidence``)."""

    attachment = models.ForeignKey(EvidenceAttachment, on_delete=models.PROTECT, related_name="checks")
    checked_at = models.DateTimeField()
    ok = models.BooleanField()
    detail = models.CharField(max_length=300, blank=True)

    history = HistoricalRecords()

    class Meta:
        base_manager_name = "objects"  # the append-only manager, on every ORM path
        triggers = [append_only_trigger(), no_truncate_trigger()]
        ordering = ["-checked_at", "-id"]

    def __str__(self) -> str:
        return f"Check of {self.attachment_id}: {'ok' if self.ok else self.detail}"
