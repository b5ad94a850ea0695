"""The tenant row lock every write service takes first (docs/RULES.md section 4).

A service that changes what a tenant's readiness rests on locks the tenant row for the rest
of its transaction, so that two writers to one tenant run one after the other and each
checks its rules against what the other committed. On SQLite, which has no row locks, the
transaction's write lock does the same.
"""

from __future__ import annotations

from launchroom.models import Tenant


def lock_tenant(tenant: Tenant | int) -> Tenant:
    """Lock the row of ``tenant`` (a tenant or its id) until the transaction ends, and return
    it as it is now. Call it inside ``transaction.atomic()``."""
    pk = tenant if isinstance(tenant, int) else tenant.pk
    return Tenant.objects.select_for_update().get(pk=pk)
