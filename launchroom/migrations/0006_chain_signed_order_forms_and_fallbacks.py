"""Bring what was recorded before the decision log held them into the log: each signed
order-form version, and each accepted billing fallback (which gets its append-only
``BillingFallbackAcceptance`` record first). Links are appended at the end of each tenant's
chain, with their creation records in the history, so ``verify_decision_log`` passes
after the upgrade and catches any later change to them.

The payload and hash are computed here, frozen as they are today, rather than imported
from ``launchroom.gates.ledger``: a migration must not change when the code does.
"""

import hashlib
import json
from datetime import UTC, datetime

from django.db import migrations
from django.utils import timezone

GENESIS = "0" * 64
TERMS_FIELDS = (
    "route",
    "billing_owner_name",
    "billing_owner_email",
    "po_terms",
    "invoice_contact",
    "plan",
    "seat_cap",
    "renewal_terms",
    "cancellation_terms",
)


def _payload(row):
    data = {}
    for f in row._meta.concrete_fields:
        value = getattr(row, f.attname)
        if isinstance(value, datetime) and value.tzinfo is not None:
            value = value.astimezone(UTC)
        data[f.attname] = value.isoformat() if hasattr(value, "isoformat") else value
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _terms_sha256(terms):
    return hashlib.sha256(json.dumps(terms, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def chain_existing(apps, schema_editor):
    OrderForm = apps.get_model("launchroom", "OrderForm")
    Entry = apps.get_model("launchroom", "DecisionLogEntry")
    EntryHistory = apps.get_model("launchroom", "HistoricalDecisionLogEntry")
    Profile = apps.get_model("billing", "BillingProfile")
    Acceptance = apps.get_model("billing", "BillingFallbackAcceptance")
    AcceptanceHistory = apps.get_model("billing", "HistoricalBillingFallbackAcceptance")
    now = timezone.now()
    reason = "chained by migration"

    pending = {}
    logged = set(Entry.objects.filter(kind="signed_order_form").values_list("object_id", flat=True))
    for order_form in OrderForm.objects.filter(status="signed").order_by("signed_at", "id"):
        if order_form.pk not in logged:
            pending.setdefault(order_form.tenant_id, []).append(("signed_order_form", order_form.signed_at, order_form))

    profiles = Profile.objects.filter(
        fallback_acceptance__isnull=True, fallback_accepted_at__isnull=False, fallback_accepted_by__isnull=False
    )
    for profile in profiles.order_by("id"):
        terms = {name: getattr(profile, name) for name in TERMS_FIELDS}
        acceptance = Acceptance.objects.create(
            tenant_id=profile.tenant_id,
            profile=profile,
            accepted_by_id=profile.fallback_accepted_by_id,
            accepted_name=profile.fallback_accepted_name,
            accepted_at=profile.fallback_accepted_at,
            # The terms as they stand, when they are still the ones accepted; else unknown.
            # (Since billing 0003 the fingerprint binds the tenant too.)
            terms=terms if _terms_sha256({**terms, "tenant_id": profile.tenant_id}) == profile.fallback_terms_sha256 else {},
            terms_sha256=profile.fallback_terms_sha256,
        )
        AcceptanceHistory.objects.create(
            **{f.attname: getattr(acceptance, f.attname) for f in Acceptance._meta.concrete_fields},
            history_date=now,
            history_type="+",
            history_user_id=profile.fallback_accepted_by_id,
            history_change_reason=reason,
        )
        profile.fallback_acceptance = acceptance
        profile.save(update_fields=["fallback_acceptance"])
        pending.setdefault(profile.tenant_id, []).append(
            ("billing_fallback_acceptance", acceptance.accepted_at, acceptance)
        )

    for tenant_id, rows in pending.items():
        last = Entry.objects.filter(tenant_id=tenant_id).order_by("-seq").first()
        seq, prev = (last.seq, last.entry_hash) if last else (0, GENESIS)
        for kind, _when, row in sorted(rows, key=lambda r: (r[1], r[0], r[2].pk)):
            seq += 1
            payload = _payload(row)
            entry_hash = hashlib.sha256((prev + payload).encode()).hexdigest()
            entry = Entry.objects.create(
                tenant_id=tenant_id,
                seq=seq,
                kind=kind,
                object_id=row.pk,
                payload=payload,
                prev_hash=prev,
                entry_hash=entry_hash,
            )
            EntryHistory.objects.create(
                **{f.attname: getattr(entry, f.attname) for f in Entry._meta.concrete_fields},
                history_date=now,
                history_type="+",
                history_change_reason=reason,
            )
            prev = entry_hash


class Migration(migrations.Migration):
    dependencies = [
        ("launchroom", "0005_database_refuses_changes"),
        ("billing", "0003_fallback_fingerprint_binds_tenant"),
    ]

    operations = [migrations.RunPython(chain_existing, migrations.RunPython.noop)]
