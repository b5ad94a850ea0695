"""Who made a change, on every write path: the actor of the audit history.

django-simple-history names the user of a change from the web request that
``HistoryRequestMiddleware`` puts in ``HistoricalRecords.context``; a service called from
a command, the shell or a task has no request, so its history rows would name nobody.
Each service therefore runs its writes inside ``acting_as(by)``, which puts a stand-in
"request" carrying that user in the same context for the length of the block, and puts
back whatever was there before (a real request, or an outer ``acting_as``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, ParamSpec, TypeVar, cast

from simple_history.models import HistoricalRecords

if TYPE_CHECKING:
    from core.types import User


@dataclass(frozen=True)
class _Actor:
    """What simple_history reads from a request: only ``user``."""

    user: User


_UNSET = object()
P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def acting_as(user: User | None) -> Iterator[None]:
    """Every history row written inside the block names ``user``. With no authenticated
    user (a proof command attaching its own output) the surrounding actor, if any, stays."""
    if user is None or not getattr(user, "is_authenticated", False):
        yield
        return
    context = HistoricalRecords.context
    previous = getattr(context, "request", _UNSET)
    context.request = _Actor(user)
    try:
        yield
    finally:
        if previous is _UNSET:
            with suppress(AttributeError):
                del context.request
        else:
            context.request = previous


def current_actor() -> User | None:
    """The user history rows written now would name, or None."""
    request = getattr(HistoricalRecords.context, "request", None)
    user = getattr(request, "user", None)
    return user if getattr(user, "is_authenticated", False) else None


def records_actor(argument: str = "by") -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Run a keyword-only service inside ``acting_as`` its ``argument`` (``by`` by default)."""

    def decorate(service: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(service)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            # The service's own signature types its actor (``by: User``, or ``User | None``).
            with acting_as(cast("User | None", kwargs.get(argument))):
                return service(*args, **kwargs)

        return wrapper

    return decorate
