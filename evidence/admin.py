"""Evidence in the admin: staff attach files, URLs or pasted output; nobody edits them.

Adding goes through ``evidence_attach`` (the one write path); an attachment has no change
or delete permission, and its history cannot be reverted (``HistoryAdmin``). A tenant's admin page links
here per requirement with ``attach_url``, which pre-fills the tenant and requirement.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from django.utils.html import format_html

from core import hooks
from core.admin import DecisionRecordAdmin, HistoryAdmin, add_service_errors, tone_badge
from core.confirm import CONFIRM, ImpactConfirmAdmin, NeedsConfirmation, confirm_impact, confirmed
from core.types import signed_in_user
from evidence import pending, uploads, validation
from evidence.freshness import attachment_problem
from evidence.models import EvidenceAttachment, EvidenceCheck, EvidenceKind
from evidence.services import check_attachment_input, evidence_attach, evidence_verify
from launchroom import catalog


def attach_url(tenant_id: int, gate_key: str, requirement_key: str) -> str:
    """The admin "attach evidence" form, pre-filled for one requirement of one tenant."""
    query = urlencode({"tenant": tenant_id, "requirement": f"{gate_key}/{requirement_key}"})
    return f"{reverse('admin:evidence_evidenceattachment_add')}?{query}"


class AttachEvidenceForm(forms.ModelForm):
    """The add form: a tenant, one requirement, and exactly one of a file, a URL or output."""

    requirement = forms.ChoiceField(
        choices=[("", "---------"), *catalog.attachment_requirement_choices()],
        help_text="The gate requirement this evidence proves.",
    )
    url = forms.URLField(
        label="URL", required=False, max_length=1000, assume_scheme="https", help_text="https:// only."
    )

    def __init__(self, data: Any = None, files: Any = None, *args: Any, **kwargs: Any) -> None:
        # A confirmed replacement takes back the file stashed when the confirmation was asked:
        # the confirmation page posts the stash's token, never the file (evidence/pending.py).
        if data is not None and CONFIRM in data and not (files and "file" in files):
            restored = pending.restore(data)
            if restored is not None:
                files = MultiValueDict({"file": [restored.for_save()]})
        super().__init__(data, files, *args, **kwargs)
        # The admin splits the moment into a date and a time input: each needs its own name.
        widget = self.fields["captured_at"].widget if "captured_at" in self.fields else None
        for sub, part in zip(getattr(widget, "widgets", ()), ("date", "time"), strict=False):
            sub.attrs["aria-label"] = f"Captured at: {part}"

    class Meta:
        model = EvidenceAttachment
        fields = ["tenant", "requirement", "file", "url", "output", "captured_at", "note"]
        help_texts = {
            "file": f"{validation.ALLOWED_DESCRIPTION}; checked by content, not just by name.",
            "output": "Pasted command output, when there is no file.",
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        file, url, output = data.get("file"), data.get("url"), data.get("output")
        try:
            check_attachment_input(
                file=file or None, url=url or "", output=output or "", captured_at=data.get("captured_at")
            )
        except ValidationError as exc:
            add_service_errors(self, exc)
            return data
        # The same checks evidence_attach makes, run here so that they show on the form.
        # An upload was checked as it streamed in: this reads the result, not the file.
        if file:
            uploads.inspection(file)
        elif url:
            validation.validate_url(url)
        else:
            validation.validate_output(output or "")
        return data

    def validate_unique(self) -> None:
        # The model's constraints are checked by evidence_attach on the row it builds;
        # this form's instance is never saved.
        return None


class GateFilter(admin.SimpleListFilter):
    title = "gate"
    parameter_name = "gate"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(g.key, f"{g.number}. {g.title}") for g in catalog.GATES if g.attachment_requirements]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(gate_key=self.value()) if self.value() else queryset


ADD_FIELDS = ("tenant", "requirement", "file", "url", "output", "captured_at", "note")
VIEW_FIELDS = (
    "tenant",
    "gate",
    "requirement_label",
    "kind",
    "download",
    "original_name",
    "evidence_url",
    "output_preview",
    "sha256",
    "size",
    "content_type",
    "captured_at",
    "uploaded_by",
    "produced_by_command",
    "note",
    "created_at",
    "status",
)


def attachment_status(attachment: EvidenceAttachment, now: Any = None) -> tuple[str, str]:
    """("ok" | "stale" | "failing", label) for an attachment annotated with its latest check."""
    try:
        requirement = catalog.requirement(attachment.gate_key, attachment.requirement_key)
    except KeyError:
        return "failing", "Unknown requirement"
    problem = attachment_problem(attachment, requirement, now or timezone.now())
    if not problem:
        return "ok", "Fresh, intact"
    if getattr(attachment, "check_ok", None) is False or problem.startswith("has no"):
        return "failing", f"Integrity failed: {problem}"
    return "stale", f"Stale: {problem}"


@admin.register(EvidenceAttachment)
class EvidenceAttachmentAdmin(ImpactConfirmAdmin, HistoryAdmin):
    form = AttachEvidenceForm
    raw_id_fields = ["tenant"]
    list_display = [
        "__str__",
        "tenant",
        "gate",
        "requirement_key",
        "kind",
        "captured_at",
        "uploaded_by",
        "produced_by_command",
        "status",
    ]
    list_display_links = ["__str__"]
    list_select_related = ["tenant", "uploaded_by"]
    list_filter = [GateFilter, "captured_at"]
    search_fields = ["tenant__slug", "tenant__name", "requirement_key", "original_name", "sha256"]
    actions = ["verify_integrity"]
    list_per_page = 100

    def get_queryset(self, request: HttpRequest) -> QuerySet[EvidenceAttachment]:
        latest = EvidenceCheck.objects.filter(attachment=OuterRef("pk")).order_by("-checked_at", "-id")
        qs = (
            super()
            .get_queryset(request)
            .annotate(
                check_ok=Subquery(latest.values("ok")[:1]),
                check_detail=Subquery(latest.values("detail")[:1]),
            )
        )
        match = getattr(request, "resolver_match", None)
        if match is not None and match.url_name == "evidence_evidenceattachment_changelist":
            # Pasted output can be a megabyte per row; the list never shows it.
            qs = qs.defer("output")
        return qs

    def get_fields(self, request: HttpRequest, obj: EvidenceAttachment | None = None) -> tuple[str, ...]:
        return ADD_FIELDS if obj is None else VIEW_FIELDS

    def get_readonly_fields(self, request: HttpRequest, obj: EvidenceAttachment | None = None) -> tuple[str, ...]:
        return () if obj is None else VIEW_FIELDS

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial: dict[str, Any] = super().get_changeform_initial_data(request)
        initial.setdefault("captured_at", timezone.now())
        return initial

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> Any:
        response = super().add_view(request, form_url, extra_context)
        saved = request.method == "POST" and CONFIRM in request.POST and getattr(response, "status_code", 200) == 302
        # Saved from the stash (AttachEvidenceForm): a storage that copied it keeps no stash.
        if saved and (restored := pending.restore(request.POST)) is not None:
            restored.discard()
        return response

    def save_form(self, request: HttpRequest, form: forms.ModelForm, change: bool) -> EvidenceAttachment:
        data = form.cleaned_data
        gate_key, _, requirement_key = data["requirement"].partition("/")
        tenant, file = data["tenant"], data.get("file") or None

        def attach(upload: File | None) -> EvidenceAttachment:
            return evidence_attach(
                tenant=tenant,
                gate_key=gate_key,
                requirement_key=requirement_key,
                by=signed_in_user(request),
                file=upload,
                url=data.get("url") or "",
                output=data.get("output") or "",
                captured_at=data.get("captured_at"),
                note=data.get("note") or "",
            )

        replacing = EvidenceAttachment.objects.filter(
            tenant=tenant, gate_key=gate_key, requirement_key=requirement_key
        ).exists()
        if not replacing or confirmed(request, [tenant]):
            return attach(file)
        # Replacing evidence can move readiness: then it is confirmed first. The service runs
        # once, for real: kept at once when readiness does not move, rolled back (and the
        # confirmation page shown) when it does. An uploaded file cannot be posted again from
        # that page, so it waits in the media store: stored there once, and the run reads it
        # from there (a hard link moved into place on a local store, no bytes copied).
        stashed = pending.stash(file) if file is not None else None

        def run() -> EvidenceAttachment:
            if stashed is None:
                return attach(None)
            with stashed.for_preview() as copy:
                return attach(copy)

        hidden = [(pending.FIELD, stashed.token)] if stashed is not None else []
        try:
            impact = hooks.keep_unless_changed(tenant=tenant, run=run)
            if impact is not None and impact.changed:  # rolled back: confirmed first
                response = confirm_impact(
                    request,
                    admin_site=self.admin_site,
                    opts=self.model._meta,
                    previews=[(tenant, run)],
                    impacts=[impact],
                    title=f"Confirm the change to {tenant}",
                    cancel_url=request.path,
                    hidden=hidden,
                )
                if response is not None:
                    raise NeedsConfirmation(response)
            # Kept, or nothing to keep it by (no keeper registered, or saving needs no page).
            attachment: EvidenceAttachment = run() if impact is None or impact.changed else impact.result
        except NeedsConfirmation:
            raise  # the confirmation page carries the stashed file
        except BaseException:
            if stashed is not None:
                stashed.discard()
            raise
        # Saved: the stored file is the stash's link (or copy), so the stash goes.
        if stashed is not None:
            stashed.discard()
        return attachment

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Already saved by ``evidence_attach`` in ``save_form``."""

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """An attachment has no related rows to save."""

    @admin.display(description="gate", ordering="gate_key")
    def gate(self, obj: EvidenceAttachment) -> str:
        gate = catalog.GATES_BY_KEY.get(obj.gate_key)
        return f"{gate.number}. {gate.title}" if gate else obj.gate_key

    @admin.display(description="requirement")
    def requirement_label(self, obj: EvidenceAttachment) -> str:
        try:
            return catalog.requirement(obj.gate_key, obj.requirement_key).label
        except KeyError:
            return obj.requirement_key

    @admin.display(description="kind")
    def kind(self, obj: EvidenceAttachment) -> str:
        return str(EvidenceKind(obj.kind).label)

    @admin.display(description="status")
    def status(self, obj: EvidenceAttachment) -> str:
        key, label = attachment_status(obj)
        return tone_badge("good" if key == "ok" else "warn", label)

    @admin.display(description="download")
    def download(self, obj: EvidenceAttachment) -> str:
        if not obj.pk:
            return "-"
        return format_html('<a href="{}">Download</a>', reverse("evidence:download", args=[obj.pk]))

    @admin.display(description="URL")
    def evidence_url(self, obj: EvidenceAttachment) -> str:
        # Shown as text, not a link: staff open evidence URLs deliberately, not by a stray click.
        return obj.url or "-"

    @admin.display(description="pasted output")
    def output_preview(self, obj: EvidenceAttachment) -> str:
        if not obj.output:
            return "-"
        text = obj.output if len(obj.output) <= 2000 else obj.output[:2000] + "\n…"
        return format_html("<pre>{}</pre>", text)

    @admin.action(description="Verify integrity (re-hash the stored evidence)", permissions=["view"])
    def verify_integrity(self, request: HttpRequest, queryset: QuerySet[EvidenceAttachment]) -> None:
        ok = failed = 0
        for attachment in EvidenceAttachment.objects.filter(pk__in=queryset.values("pk")).iterator():
            check = evidence_verify(attachment=attachment)
            if check.ok:
                ok += 1
            else:
                failed += 1
        if failed:
            self.message_user(
                request,
                f"Verified {ok + failed} attachment(s): {ok} intact, {failed} failed their integrity check.",
                messages.WARNING,
            )
        else:
            self.message_user(request, f"Verified {ok} attachment(s): all intact.", messages.SUCCESS)


@admin.register(EvidenceCheck)
class EvidenceCheckAdmin(DecisionRecordAdmin):
    """Integrity results are append-only, like decisions: viewed, never edited."""

    list_display = ["attachment", "tenant", "checked_at", "ok", "detail"]
    list_select_related = ["attachment__tenant"]
    list_filter = ["ok", "checked_at"]
    readonly_fields = ["attachment", "checked_at", "ok", "detail"]

    @admin.display(description="tenant", ordering="attachment__tenant__name")
    def tenant(self, obj: EvidenceCheck) -> str:
        return str(obj.attachment.tenant)
