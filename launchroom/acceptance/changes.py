"""What changed since a buyer signed: the certificate and the launch room tell it with this one function."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from evidence.models import EvidenceAttachment
from launchroom import catalog


def _where(attachment: EvidenceAttachment) -> str:
    gate = catalog.GATES_BY_KEY.get(attachment.gate_key)
    try:
        label = catalog.requirement(attachment.gate_key, attachment.requirement_key).label
    except KeyError:
        label = attachment.requirement_key
    return f"gate {gate.number}, {label}" if gate else label


def _who(attachment: EvidenceAttachment) -> str:
    if attachment.uploaded_by is not None:
        return attachment.uploaded_by.get_full_name() or attachment.uploaded_by.get_username()
    return attachment.produced_by_command or "a proof command"


def evidence_changes(signed: list[dict[str, Any]], now: list[dict[str, Any]]) -> list[str]:
    """Each evidence item that changed since signing, named: which requirement, old and new
    SHA-256, when the new one was captured and who attached it."""
    before = {e["id"]: e["sha256"] for e in signed}
    after = {e["id"]: e["sha256"] for e in now}
    gone, new = set(before) - set(after), set(after) - set(before)
    if not (gone or new):
        return []
    rows = EvidenceAttachment.objects.defer("output").select_related("uploaded_by").in_bulk(gone | new)
    key = lambda a: (a.gate_key, a.requirement_key)  # noqa: E731
    replaced_by = {key(rows[pk]): rows[pk] for pk in new if pk in rows}
    changes = []
    for pk in sorted(gone):
        old = rows.get(pk)
        successor = replaced_by.pop(key(old), None) if old is not None else None
        if old is None:
            changes.append(f"Evidence #{pk} (SHA-256 {before[pk]}) the signer saw is no longer on record.")
        elif successor is None:
            changes.append(f"Evidence for {_where(old)} (#{pk}, SHA-256 {before[pk]}) no longer counts.")
        else:
            when = timezone.localtime(successor.captured_at).strftime("%d %b %Y %H:%M")
            changes.append(
                f"Evidence for {_where(old)} was replaced: SHA-256 {before[pk]} (#{pk}) then, "
                f"{successor.sha256} (#{successor.pk}) now, captured {when}, attached by {_who(successor)}."
            )
    for attachment in sorted(replaced_by.values(), key=lambda a: a.pk):
        when = timezone.localtime(attachment.captured_at).strftime("%d %b %Y %H:%M")
        changes.append(
            f"New evidence for {_where(attachment)}: SHA-256 {attachment.sha256} (#{attachment.pk}), "
            f"captured {when}, attached by {_who(attachment)}."
        )
    return changes


def snapshot_changes(signed: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """What differs, in plain words, between the snapshot a buyer signed and today's."""
    changes: list[str] = []
    if not signed:
        return ["The signed snapshot is not stored with this record."]
    before_of, after_of = signed.get("order_form") or {}, now.get("order_form") or {}
    if before_of.get("id") != after_of.get("id"):
        before = f"v{before_of['version']} ({before_of['approval_reference']})" if before_of else "none"
        after = f"v{after_of['version']} ({after_of['approval_reference']})" if after_of else "none"
        changes.append(f"Signed order form: {before} then, {after} now.")
    before_gates = {g["key"]: g for g in signed.get("gates", [])}
    for gate in now.get("gates", []):
        old = before_gates.get(gate["key"])
        if old is not None and old["status"] != gate["status"]:
            changes.append(
                f"Gate {gate['number']} ({gate['title']}): {old['status'].replace('_', ' ')} then, "
                f"{gate['status'].replace('_', ' ')} now."
            )
    before_claims, after_claims = set(signed.get("do_not_claim", [])), set(now.get("do_not_claim", []))
    for claim in sorted(after_claims - before_claims):
        changes.append(f'New in do-not-claim: "{claim}".')
    for claim in sorted(before_claims - after_claims):
        changes.append(f'No longer in do-not-claim: "{claim}".')
    changes += evidence_changes(signed.get("evidence", []), now.get("evidence", []))
    if not changes:
        changes.append("Details of the readiness changed (a gate's reasons), though no gate changed status.")
    return changes
