"""Bring the comments and readiness transitions written before the decision log held them
into the log. Links are appended at the end of each tenant's chain, in the order the rows
were written, with their creation records in the history, so ``verify_decision_log`` passes
after the upgrade and catches any later deletion of them.

The payload and hash are computed here, frozen as they are today, rather than imported from
``launchroom.readiness.ledger``: a migration must not change when the code does.
"""

import hashlib
import json
from datetime import UTC, datetime

from django.db import migrations
from django.utils import timezone

GENESIS = "0" * 64


def _payload(row):
    data = {}
    for f in row._meta.concrete_fields:
        value = getattr(row, f.attname)
        if isinstance(value, datetime) and value.tzinfo is not None:
            value = value.astimezone(UTC)
        data[f.attname] = value.isoformat() if hasattr(value, "isoformat") else value
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def chain_existing(apps, schema_editor):
    Comment = apps.get_model("launchroom", "Comment")
    Transition = apps.get_model("launchroom", "ReadinessTransition")
    Entry = apps.get_model("launchroom", "DecisionLogEntry")
    EntryHistory = apps.get_model("launchroom", "HistoricalDecisionLogEntry")
    now = timezone.now()
    reason = "chained by migration"

    pending = {}
    for kind, model, when in (("comment", Comment, "created_at"), ("readiness_transition", Transition, "at")):
        logged = set(Entry.objects.filter(kind=kind).values_list("object_id", flat=True))
        for row in model.objects.order_by(when, "id").iterator():
            if row.pk not in logged:
                pending.setdefault(row.tenant_id, []).append((kind, getattr(row, when), row))

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
    dependencies = [("launchroom", "0015_database_refuses_truncate")]

    operations = [migrations.RunPython(chain_existing, migrations.RunPython.noop)]
