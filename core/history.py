"""Who made a change, on every write path: the actor of the audit history.

django-simple-history names the user of a change from the web request that
``HistoryRequestMiddleware`` puts in ``HistoricalRecords.context``; a service called from
a command, the shell or a task has no request, so its history rows would name nobody.
Each service therefore runs its writes inside ``acting_as(by)``, which puts a stand-in
"request" carrying that user in the same context for the length of the block, and puts
back whatever was there before (a real request, or an outer ``acting_as``).

When no person acts at all (a proof command attaching its own output, ``verify_evidence``'s
checks, a scheduled task, the shell), the row names the system account instead of nobody,
and its change reason says what ran: the command (and task) or the shell, and the OS user.
That is ``name_the_system``, a receiver of simple_history's ``pre_create_historical_record``,
so every path gets it without remembering to. What ran is said explicitly: our management
commands derive from ``SystemCommand`` and our task functions are wrapped in ``system_task``,
each of which names itself for the length of its run (``running``); anything else is the
process itself (``manage.py <command>``, the shell or a script).
"""

from __future__ import annotations

import functools
import getpass
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS
from django.dispatch import receiver
from django.http import HttpRequest
from simple_history.manager import HistoryDescriptor
from simple_history.models import HistoricalRecords
from simple_history.signals import pre_create_historical_record

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


# When nobody acts: the system account -------------------------------------------------------

SYSTEM_USERNAME = "thesmios-system"
REASON_LENGTH = 100  # simple_history's history_change_reason column


class SystemAccountError(Exception):
    """The system account can log in: someone made it active, staff, or gave it a password."""


# The system account once loaded and checked, by database alias: a history row that needs
# it costs no query. Saving or deleting the account, or a flush, forgets it (see below).
_SYSTEM: dict[str, User] = {}


def system_user(using: str = DEFAULT_DB_ALIAS) -> User:
    """The account history names when no person acts. Created by ``migrate`` (and on first
    use), inactive, not staff, with an unusable password: nobody can log in as it, so a row
    naming it was written by the portal's own processes. Invitations name users by e-mail, so
    no buyer can take its name; should anyone make it able to log in, writing history with it
    refuses."""
    if using in _SYSTEM:
        return _SYSTEM[using]
    from django.contrib.auth import get_user_model

    user, _created = (
        get_user_model()
        .objects.using(using)
        .get_or_create(
            username=SYSTEM_USERNAME,
            defaults={
                "is_active": False,
                "first_name": "Thesmios",
                "last_name": "(system)",
                "password": make_password(None),
            },
        )
    )
    if user.is_active or user.is_staff or user.is_superuser or user.has_usable_password():
        raise SystemAccountError(
            f"The system account {SYSTEM_USERNAME!r} can log in; make it inactive, not staff, with no usable password."
        )
    _SYSTEM[using] = user
    return user


def _forget_the_system(sender: Any, instance: Any, using: str, **kwargs: Any) -> None:
    if getattr(instance, "username", None) == SYSTEM_USERNAME:
        _SYSTEM.pop(using, None)


def _create_the_system(sender: Any, using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    """After ``migrate`` (and a test's flush): the account exists before anything needs it."""
    _SYSTEM.pop(using, None)
    system_user(using)


def connect_system_account(sender: Any) -> None:
    """Called by the core app's ``ready``: keep the remembered account true to the database."""
    from django.contrib.auth import get_user_model
    from django.db.models.signals import post_delete, post_migrate, post_save

    user_model = get_user_model()
    post_save.connect(_forget_the_system, sender=user_model, dispatch_uid="core.history.forget_save")
    post_delete.connect(_forget_the_system, sender=user_model, dispatch_uid="core.history.forget_delete")
    post_migrate.connect(_create_the_system, sender=sender, dispatch_uid="core.history.create")


class _ManagerClassOnce(HistoryDescriptor):
    """simple_history's ``Model.history`` descriptor builds a new manager class on every
    access (``from_queryset``), and every save of a tracked model reads it to write its
    history row: about a tenth of a millisecond a save. This one builds the class once."""

    _manager_class: Any = None

    def __get__(self, instance: Any, owner: Any) -> Any:
        if self._manager_class is None:
            self._manager_class = self.manager_class.from_queryset(self.queryset_class)
        return self._manager_class(self.model, instance)


def build_history_managers_once() -> None:
    """Called by the core app's ``ready``, once every model (and its history) is registered."""
    from django.apps import apps

    for model in apps.get_models():
        name = getattr(model._meta, "simple_history_manager_attribute", None)
        descriptor = model.__dict__.get(name) if name else None
        if name and type(descriptor) is HistoryDescriptor:
            once = _ManagerClassOnce(descriptor.model, descriptor.manager_class, descriptor.queryset_class)
            setattr(model, name, once)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER (a container)
        return f"uid {os.getuid()}"


@dataclass(frozen=True)
class Running:
    """The management command and the background task (innermost) running now, if any."""

    command: str | None = None
    task: str | None = None


NOTHING_OF_OURS = Running()
_RUNNING: ContextVar[Running] = ContextVar("core.history.running")


@contextmanager
def running(what: Running) -> Iterator[None]:
    """History rows written in the block with no person acting say that ``what`` ran them."""
    token = _RUNNING.set(what)
    try:
        yield
    finally:
        _RUNNING.reset(token)


class SystemCommand(BaseCommand):
    """The base of our management commands (``manage.py`` and ``call_command`` alike): history
    rows a command writes with no person acting name it, by its module's name."""

    def execute(self, *args: Any, **options: Any) -> str | None:
        with running(Running(command=type(self).__module__.rsplit(".", 1)[-1])):
            return super().execute(*args, **options)


def system_task(function: Callable[P, R]) -> Callable[P, R]:
    """Under django-tasks' ``@task()``: history rows the task writes with no person acting name
    it, and the command it runs in if any (a scheduler tick runs tasks in its command)."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with running(replace(_RUNNING.get(NOTHING_OF_OURS), task=function.__name__)):
            return function(*args, **kwargs)

    return wrapper


def _process() -> str:
    """This process: ``command <name>`` under ``manage.py`` or ``django-admin`` (a Django command,
    or a worker running tasks), ``shell`` for an interactive or ``-c`` Python, else
    ``script <name>`` (``python -m x``: x)."""
    path = sys.argv[0] if sys.argv else ""
    if path in ("", "-c") or hasattr(sys, "ps1"):
        return "shell"
    name = os.path.basename(path)
    if name in ("manage.py", "django-admin") and len(sys.argv) > 1:
        return f"command {sys.argv[1]}"  # the subcommand, as Django's own manage.py reads it
    return f"script {os.path.basename(os.path.dirname(path)) if name == '__main__.py' else name}"


def system_reason() -> str:
    """What is acting when no person is: the command (and task), a web request nobody logged
    in to, or the shell or script, with the OS user."""
    request = getattr(HistoricalRecords.context, "request", None)
    if isinstance(request, HttpRequest):  # (runserver --nothreading serves inside its command)
        match = request.resolver_match  # never the path: it can hold a link's token
        return f"web request {match.view_name if match else 'unresolved'}, nobody logged in"[:REASON_LENGTH]
    now = _RUNNING.get(NOTHING_OF_OURS)
    process = f"command {now.command}" if now.command else _process()
    if now.task is not None:
        what = f"task {now.task}" + (f" in {process}" if process.startswith("command ") else "")
    else:
        what = process
    return f"{what} (OS user {_os_user()})"[:REASON_LENGTH]


@receiver(pre_create_historical_record, dispatch_uid="core.history.name_the_system")
def name_the_system(sender: Any, history_instance: Any, **kwargs: Any) -> None:
    """A history row about to be written with no actor names the system account and why."""
    if history_instance.history_user_id is not None:
        return
    history_instance.history_user = system_user(kwargs.get("using") or DEFAULT_DB_ALIAS)
    if not history_instance.history_change_reason:
        history_instance.history_change_reason = system_reason()
