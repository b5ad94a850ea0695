"""Loading what readiness needs, for one tenant or many, in a fixed number of queries."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, F, OuterRef, QuerySet, Subquery, Window
from django.db.models.functions import RowNumber

from billing.models import BillingProfile
from evidence.models import EvidenceAttachment, EvidenceCheck
from launchroom.models import (
    AcceptanceCountersignature,
    AcceptanceRecord,
    GateDecision,
    LaunchStage,
    OrderForm,
    OrderFormStatus,
    SupportPlan,
    Tenant,
)


@dataclass
class TenantData:
    """Everything the readiness rules read for one tenant, loaded in bulk."""

    tenant: Tenant
    order_forms: list[OrderForm] = field(default_factory=list)  # newest version first
    billing: BillingProfile | None = None
    support: SupportPlan | None = None
    # The newest attachment of each requirement, newest capture first; each carries
    # ``same_requirement``, the number of attachments that requirement has in all.
    attachments: list[EvidenceAttachment] = field(default_factory=list)
    decisions: list[GateDecision] = field(default_factory=list)  # newest first
    acceptances: list[AcceptanceRecord] = field(default_factory=list)  # newest first

    @property
    def latest_order_form(self) -> OrderForm | None:
        return self.order_forms[0] if self.order_forms else None

    @property
    def signed_order_form(self) -> OrderForm | None:
        return next((o for o in self.order_forms if o.status == OrderFormStatus.SIGNED), None)

    def requested_stage(self) -> str:
        latest = self.latest_order_form
        return latest.requested_stage if latest else LaunchStage.PRIVATE_BETA

    def current_acceptance(self, stage: str) -> AcceptanceRecord | None:
        """The record of this stage that no other record supersedes."""
        records = [r for r in self.acceptances if r.stage == stage]
        replaced = {r.supersedes_id for r in records if r.supersedes_id}
        current = [r for r in records if r.pk not in replaced]
        return current[0] if current else None

    def superseded_by(self) -> dict[int, AcceptanceRecord]:
        return {r.supersedes_id: r for r in self.acceptances if r.supersedes_id}

    def attachments_for(self, gate_key: str, requirement_key: str) -> list[EvidenceAttachment]:
        return [a for a in self.attachments if a.gate_key == gate_key and a.requirement_key == requirement_key]

    @property
    def evidence_total(self) -> int:
        """Every attachment of the tenant, older ones included."""
        return sum(getattr(a, "same_requirement", 1) for a in self.attachments)


# What evaluate() reads of each row: a portfolio load builds only these columns.
LEAN_ATTACHMENT_FIELDS = (
    "id",
    "tenant_id",
    "gate_key",
    "requirement_key",
    "captured_at",
    "sha256",
    "uploaded_by_id",
    "produced_by_command",
)


LEAN_DECISION_FIELDS = ("id", "tenant_id", "gate_key", "decision", "note", "decided_at")


LEAN_ACCEPTANCE_FIELDS = (
    "id",
    "tenant_id",
    "stage",
    "decision",
    "order_form_id",
    "supersedes_id",
    "signed_at",
    "countersign_required",
)


def _attachment_queryset(*, with_output: bool, lean: bool = False) -> QuerySet[EvidenceAttachment]:
    """The newest attachment of each requirement, with how many it has in all (a fresh
    clone of the variant's template: filtering or evaluating it never touches the template).

    Readiness reads only the newest attachment of a requirement, so only those rows are
    built, however long a tenant's evidence history grows; ``same_requirement`` counts the
    rest for the pages that link to them.
    """
    return _attachment_template(with_output, lean).all()


@functools.cache
def _attachment_template(with_output: bool, lean: bool) -> QuerySet[EvidenceAttachment]:
    """Built once per variant: resolving the windows and subqueries cost every projection (each
    write re-evaluates its tenant) more than a millisecond, about a sixth of the projection."""
    latest_check = EvidenceCheck.objects.filter(attachment=OuterRef("pk")).order_by("-checked_at", "-id")
    per_requirement = [F("tenant_id"), F("gate_key"), F("requirement_key")]
    qs = (
        EvidenceAttachment.objects.annotate(
            newest_first=Window(
                RowNumber(), partition_by=per_requirement, order_by=[F("captured_at").desc(), F("id").desc()]
            ),
            same_requirement=Window(Count("id"), partition_by=per_requirement),
        )
        .filter(newest_first=1)
        .annotate(
            check_ok=Subquery(latest_check.values("ok")[:1]),
            check_detail=Subquery(latest_check.values("detail")[:1]),
        )
    )
    if lean:
        qs = qs.only(*LEAN_ATTACHMENT_FIELDS)
    elif not with_output:
        qs = qs.defer("output")
    return qs.order_by("-captured_at", "-id")


# Up to this many tenants, the queries below name them by id (see ``load_tenants``).
IDS_INLINE = 500


def load_tenants(
    tenants: QuerySet[Tenant], *, with_output: bool = False, lean: bool = False, with_row: bool = False
) -> list[TenantData]:
    """Load every tenant of ``tenants`` with what readiness needs, in five queries.

    ``lean`` (portfolios) builds only the columns ``evaluate`` reads and no related users;
    otherwise the rows are whole, for pages that also show who decided what. ``with_row``
    brings each tenant's stored readiness row along.
    """
    related = _tenant_related(lean) + (["readiness_row"] if with_row else [])
    rows = list(tenants.select_related(*related))
    if not rows:
        return []
    # The ids themselves when there are few: compiling the tenants' query again as a subquery,
    # once for each of the four queries below, cost more than running them. A whole portfolio
    # is selected by subquery, not by a list of 100,000.
    ids: Any = [t.pk for t in rows] if len(rows) <= IDS_INLINE else tenants.values("pk")
    by_id = {
        tenant.pk: TenantData(
            tenant=tenant,
            billing=getattr(tenant, "billing_profile", None),
            support=getattr(tenant, "support_plan", None),
        )
        for tenant in rows
    }
    for order_form in _order_forms(ids):
        by_id[order_form.tenant_id].order_forms.append(order_form)
    for attachment in _attachment_queryset(with_output=with_output, lean=lean).filter(tenant__in=ids):
        by_id[attachment.tenant_id].attachments.append(attachment)
    for decision in _decisions(ids, lean):
        by_id[decision.tenant_id].decisions.append(decision)
    for record in _acceptances(ids, lean):
        by_id[record.tenant_id].acceptances.append(record)
    return list(by_id.values())


def load_one(tenant_id: int, *, with_output: bool = False, lean: bool = False, with_row: bool = False) -> TenantData:
    """One tenant, exactly as ``load_tenants`` loads it (the same five queries): every write
    loads its tenant again. Raises ``Tenant.DoesNotExist`` when there is no such tenant."""
    loaded = load_tenants(Tenant.objects.filter(pk=tenant_id), with_output=with_output, lean=lean, with_row=with_row)
    if not loaded:
        raise Tenant.DoesNotExist(f"No tenant {tenant_id}.")
    return loaded[0]


def load(tenant: Tenant, *, with_output: bool = True) -> TenantData:
    """Load one tenant (five queries)."""
    return load_one(tenant.pk, with_output=with_output)


# The querysets of ``load_tenants``, for any ids.


def _tenant_related(lean: bool) -> list[str]:
    return ["billing_profile", "support_plan"] if lean else ["billing_profile", "support_plan", "commercial_owner"]


def _order_forms(ids: Any) -> QuerySet[OrderForm]:
    return OrderForm.objects.filter(tenant__in=ids).order_by("tenant_id", "-version")


def _decisions(ids: Any, lean: bool) -> QuerySet[GateDecision]:
    decisions = GateDecision.objects.filter(tenant__in=ids)
    return decisions.only(*LEAN_DECISION_FIELDS) if lean else decisions.select_related("decided_by")


def _acceptances(ids: Any, lean: bool) -> QuerySet[AcceptanceRecord]:
    # Each record carries its operator's answer (docs/RULES.md 5.9), in the same query:
    # ``countersign_kind`` is "countersigned", "declined" or None; the room and the
    # certificate also show who answered, when and why.
    answer = AcceptanceCountersignature.objects.filter(record=OuterRef("pk"))
    records = (
        AcceptanceRecord.objects.filter(tenant__in=ids)
        .annotate(countersign_kind=Subquery(answer.values("kind")[:1]))
        .order_by("-signed_at", "-id")
    )
    if not lean:
        records = records.annotate(
            countersign_at=Subquery(answer.values("signed_at")[:1]),
            countersign_name=Subquery(answer.values("operator_name")[:1]),
            countersign_role=Subquery(answer.values("operator_role")[:1]),
            countersign_note=Subquery(answer.values("note")[:1]),
        )
    return records.only(*LEAN_ACCEPTANCE_FIELDS) if lean else records.defer("snapshot")
