"""Dependency inversion between the apps.

The lower apps (billing, evidence) and launchroom's own services announce what they changed
through these hooks; launchroom registers, when it starts (``LaunchroomConfig.ready``), what
follows from a change: the stored readiness, the decision log, notifications. So billing/
and evidence/ never import launchroom's services, and a service says *that* something
changed without knowing who listens.

Listeners run inside the caller's transaction, under its tenant lock: what they write
commits or rolls back with the change itself.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from core.types import User

ReadinessListener = Callable[..., None]
DecisionListener = Callable[[Any], None]

_readiness_listeners: list[ReadinessListener] = []
_decision_listeners: list[DecisionListener] = []


def on_readiness_change(listener: ReadinessListener) -> ReadinessListener:
    """Register ``listener(tenant_id=..., cause=..., actor=...)``; usable as a decorator."""
    if listener not in _readiness_listeners:
        _readiness_listeners.append(listener)
    return listener


def on_decision(listener: DecisionListener) -> DecisionListener:
    """Register ``listener(row)`` for every decision row written (the decision log)."""
    if listener not in _decision_listeners:
        _decision_listeners.append(listener)
    return listener


def readiness_may_change(*, tenant_id: int, cause: str, actor: User | None = None) -> None:
    """A service changed something readiness reads for this tenant. ``cause`` names the
    service call in words ("gate_decide: accepted gate 5"); ``actor`` is the acting user
    (None for time or the system)."""
    for listener in list(_readiness_listeners):
        listener(tenant_id=tenant_id, cause=cause, actor=actor)


def decision_recorded(row: Any) -> None:
    """A decision row (gate decision, acceptance, stage move, ...) was written."""
    for listener in list(_decision_listeners):
        listener(row)


TransitionListener = Callable[[Any, Any], object]
_transition_listeners: list[TransitionListener] = []


def on_transition(listener: TransitionListener) -> TransitionListener:
    """Register ``listener(transition, readiness)`` for every readiness transition written."""
    if listener not in _transition_listeners:
        _transition_listeners.append(listener)
    return listener


def transition_recorded(transition: Any, readiness: Any) -> None:
    """The stored readiness wrote a transition (the decision or a gate's status changed):
    whoever tells people of it does so in the caller's transaction."""
    for listener in list(_transition_listeners):
        listener(transition, readiness)


# The launch room (docs/RULES.md section 6): what it shows changes only through the services
# marked ``changes_launch_room``. Each announces its change in its transaction: through
# ``readiness_may_change`` (the stored readiness row is rewritten with a new room version) or,
# when readiness cannot move, through ``room_may_change`` (a new room version alone).
RoomListener = Callable[..., None]
_room_listeners: list[RoomListener] = []
Service = TypeVar("Service", bound=Callable[..., Any])
# Every service marked ``changes_launch_room``; tests/test_room_versions.py calls each one.
LAUNCH_ROOM_SERVICES: list[Callable[..., Any]] = []


def changes_launch_room(service: Service) -> Service:
    """Mark a service as one that changes what the launch room shows (records it, nothing more)."""
    if service not in LAUNCH_ROOM_SERVICES:
        LAUNCH_ROOM_SERVICES.append(service)
    return service


def on_room_change(listener: RoomListener) -> RoomListener:
    """Register ``listener(tenant_id=...)``; usable as a decorator."""
    if listener not in _room_listeners:
        _room_listeners.append(listener)
    return listener


def room_may_change(*, tenant_id: int) -> None:
    """A service changed something the tenant's launch room shows that readiness does not read
    (a comment, an incident, the tenant's name)."""
    for listener in list(_room_listeners):
        listener(tenant_id=tenant_id)


# Impact before saving: launchroom registers the one previewer (``launchroom.impact.preview.preview``).
ImpactPreviewer = Callable[[Any, Callable[[], Any]], Any]
_impact_previewers: list[ImpactPreviewer] = []


def on_impact_preview(previewer: ImpactPreviewer) -> ImpactPreviewer:
    """Register ``previewer(tenant, run)``, which runs ``run`` rolled back and returns an impact."""
    if previewer not in _impact_previewers:
        _impact_previewers.append(previewer)
    return previewer


_previewing: ContextVar[bool] = ContextVar("previewing", default=False)


def previewing() -> bool:
    """Whether this thread is running a service only to preview its impact (it will be rolled
    back): a service then keeps what cannot be rolled back, such as e-mail written to the
    console or an outbox, to itself."""
    return _previewing.get()


def preview_impact(*, tenant: Any, run: Callable[[], Any]) -> Any:
    """What ``run`` (a real service call) would change in ``tenant``'s readiness, with nothing
    saved: an object with ``changed`` and ``sentence()``; None when no previewer is registered."""
    token = _previewing.set(True)
    try:
        for previewer in _impact_previewers:
            return previewer(tenant, run)
        return None
    finally:
        _previewing.reset(token)


# The readiness a confirmation was shown for: launchroom registers the one reader
# (``launchroom.impact.preview.seen_sha256``); ``core.confirm`` binds its tokens to it.
ReadinessReader = Callable[[Any], str]
_readiness_readers: list[ReadinessReader] = []


def on_readiness_seen(reader: ReadinessReader) -> ReadinessReader:
    """Register ``reader(tenant)``, which returns a SHA-256 of the readiness a change starts from."""
    if reader not in _readiness_readers:
        _readiness_readers.append(reader)
    return reader


def readiness_seen(*, tenant: Any) -> str:
    """A SHA-256 of ``tenant``'s readiness as a change would start from it ("" when no reader
    is registered)."""
    for reader in _readiness_readers:
        return reader(tenant)
    return ""


# Saving at once unless readiness moves: launchroom registers the one keeper
# (``launchroom.impact.preview.keep_unless_changed``).
_impact_keepers: list[ImpactPreviewer] = []


def on_keep_unless_changed(keeper: ImpactPreviewer) -> ImpactPreviewer:
    """Register ``keeper(tenant, run)``, which runs ``run`` once and keeps it unless it moves
    the tenant's readiness, returning an impact."""
    if keeper not in _impact_keepers:
        _impact_keepers.append(keeper)
    return keeper


def keep_unless_changed(*, tenant: Any, run: Callable[[], Any]) -> Any:
    """Run ``run`` (a real service call) once, in a savepoint of the caller's transaction:
    kept when it changes nothing in ``tenant``'s readiness, rolled back when it does. Returns
    an object with ``changed``, ``sentence()`` and ``result`` (what ``run`` returned); None
    when no keeper is registered (nothing has run)."""
    for keeper in _impact_keepers:
        return keeper(tenant, run)
    return None
