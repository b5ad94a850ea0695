"""The launch domain: tenants, their members, order forms and every launch decision.

Decision records (GateDecision, AcceptanceRecord, StageChange, DecisionLogEntry) and signed
order-form versions are append-only: ``save()`` refuses to update them, ``delete()`` refuses,
and the queryset refuses ``update()`` and ``delete()``. "Current" and "superseded by" are
derived from the ``supersedes`` link, never stored on the old row.
"""

from __future__ import annotations

from launchroom.models.conversation import Comment
from launchroom.models.countersign import AcceptanceCountersignature, CountersignKind
from launchroom.models.decisions import (
    AcceptanceDecision,
    AcceptanceRecord,
    DecisionLogEntry,
    GateDecision,
    GateDecisionKind,
    StageChange,
)
from launchroom.models.mail import EmailKind, EmailStatus, OutboundEmail, ScheduledRun
from launchroom.models.notifications import (
    ACTION_KINDS,
    Delivery,
    EmailMode,
    Notification,
    NotificationKind,
    NotificationPreference,
)
from launchroom.models.orderforms import OrderForm, OrderFormQuerySet, OrderFormStatus
from launchroom.models.readiness import GATE_COLUMNS, ReadinessTransition, TenantReadiness, new_room_version
from launchroom.models.support import Incident, IncidentNotice, Severity, SupportPlan
from launchroom.models.tenants import LaunchStage, MembershipRole, Stage, Tenant, TenantMembership, TenantQuerySet
from launchroom.models.tokens import ApiToken

__all__ = [
    "ACTION_KINDS",
    "GATE_COLUMNS",
    "AcceptanceCountersignature",
    "AcceptanceDecision",
    "AcceptanceRecord",
    "ApiToken",
    "Comment",
    "CountersignKind",
    "DecisionLogEntry",
    "Delivery",
    "EmailKind",
    "EmailMode",
    "EmailStatus",
    "GateDecision",
    "GateDecisionKind",
    "Incident",
    "IncidentNotice",
    "LaunchStage",
    "MembershipRole",
    "Notification",
    "NotificationKind",
    "NotificationPreference",
    "OrderForm",
    "OrderFormQuerySet",
    "OrderFormStatus",
    "OutboundEmail",
    "ReadinessTransition",
    "ScheduledRun",
    "Severity",
    "Stage",
    "StageChange",
    "SupportPlan",
    "Tenant",
    "TenantMembership",
    "TenantQuerySet",
    "TenantReadiness",
    "new_room_version",
]
