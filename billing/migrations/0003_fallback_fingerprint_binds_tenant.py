"""The fallback fingerprint binds the tenant: re-fingerprint acceptances that
still match their terms under the old formula, so no current acceptance goes stale.

Both formulas are written out here, frozen, rather than imported from billing.models.
"""

import hashlib
import json

from django.db import migrations

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


def _sha(data):
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def rebind(apps, schema_editor):
    BillingProfile = apps.get_model("billing", "BillingProfile")
    for profile in BillingProfile.objects.exclude(fallback_terms_sha256="").iterator():
        terms = {name: getattr(profile, name) for name in TERMS_FIELDS}
        if profile.fallback_terms_sha256 == _sha(terms):
            profile.fallback_terms_sha256 = _sha({**terms, "tenant_id": profile.tenant_id})
            profile.save(update_fields=["fallback_terms_sha256"])


def unbind(apps, schema_editor):
    BillingProfile = apps.get_model("billing", "BillingProfile")
    for profile in BillingProfile.objects.exclude(fallback_terms_sha256="").iterator():
        terms = {name: getattr(profile, name) for name in TERMS_FIELDS}
        if profile.fallback_terms_sha256 == _sha({**terms, "tenant_id": profile.tenant_id}):
            profile.fallback_terms_sha256 = _sha(terms)
            profile.save(update_fields=["fallback_terms_sha256"])


class Migration(migrations.Migration):
    dependencies = [("billing", "0002_fallback_acceptance_record")]

    operations = [migrations.RunPython(rebind, unbind)]
