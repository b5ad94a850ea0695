"""The append-only model base: rows written once, never changed or deleted by any ORM path."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pgtrigger
from django.db import models
from pgtrigger import compiler
from simple_history.models import HistoricalChanges


class AppendOnlyError(Exception):
    """Raised when code tries to change or delete an append-only record."""


class AppendOnlyQuerySet(models.QuerySet):
    """A queryset that cannot bulk-update, upsert or bulk-delete its rows."""

    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only and cannot be updated.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only and cannot be deleted.")

    def bulk_update(self, objs: Iterable[Any], fields: Iterable[str], batch_size: int | None = None) -> int:
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only and cannot be updated.")

    def bulk_create(self, objs: Iterable[Any], *args: Any, **kwargs: Any) -> list[Any]:
        # An upsert (``update_conflicts=True``, also the fourth positional argument) updates rows.
        if kwargs.get("update_conflicts") or (len(args) > 2 and args[2]):
            raise AppendOnlyError(f"{self.model.__name__} rows are append-only and cannot be updated by an upsert.")
        return super().bulk_create(objs, *args, **kwargs)


class AppendOnlyModel(models.Model):
    """A model whose rows are written once and never changed or deleted."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        name = type(self).__name__
        if not self._state.adding or kwargs.get("force_update") or kwargs.get("update_fields") is not None:
            raise AppendOnlyError(f"{name} rows are append-only and cannot be changed.")
        # A new instance that carries an existing row's primary key would be saved with an
        # UPDATE of that row (Django tries an UPDATE first whenever the key is set): refused
        # here with a clear error, and always inserted, so no save ever issues an UPDATE.
        if self.pk is not None and type(self)._base_manager.filter(pk=self.pk).exists():
            raise AppendOnlyError(f"{name} {self.pk} exists; append-only rows cannot be written over.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(f"{type(self).__name__} rows are append-only and cannot be deleted.")


# The database's own refusal (PostgreSQL) ------------------------------------------------
#
# The ORM refusals above stop our code; they do not stop a raw UPDATE or DELETE. On
# PostgreSQL a row trigger refuses those too (django-pgtrigger installs it through the
# migrations; on SQLite it installs nothing and the ORM refusals remain). pgtrigger's
# triggers can be switched off per session with ``pgtrigger.ignore`` (a plain ``SET`` that
# any connection may issue), which would make "refused by the database" mean little: these
# are compiled without that switch, so lifting one takes ``ALTER TABLE ... DISABLE
# TRIGGER``, which only the table's owner may run.

_UNLIFTABLE_TEMPLATE = """
            CREATE OR REPLACE FUNCTION {pgid}()
            RETURNS TRIGGER AS $$
                {declare}
                BEGIN
                    {func}
                END;
            $$ LANGUAGE plpgsql;

            DROP TRIGGER IF EXISTS {pgid} ON {table};
            CREATE {constraint} TRIGGER {pgid}
                {when} {operation} ON {table}
                {timing}
                {referencing}
                FOR EACH {level} {condition}
                EXECUTE PROCEDURE {execute};

            COMMENT ON TRIGGER {pgid} ON {table} IS '{hash}';
        """


class UnliftableTriggerSql(compiler.UpsertTriggerSql):
    """pgtrigger's trigger SQL without the ``pgtrigger.ignore`` session switch."""

    def get_template(self) -> str:
        return _UNLIFTABLE_TEMPLATE


class _Refusal:
    """The refusing body and the unliftable SQL, shared by the row and statement triggers."""

    reason = "rows are append-only"

    def get_func(self, model: Any) -> str:
        return (
            f"RAISE EXCEPTION '%: {self.reason}; the database refuses this %', TG_TABLE_NAME, TG_OP "
            "USING ERRCODE = 'restrict_violation';"
        )

    def compile(self, model: Any) -> compiler.Trigger:
        compiled = super().compile(model)  # type: ignore[misc]  # a mixin: the pgtrigger class is next in the MRO
        return compiler.Trigger(name=compiled.name, sql=UnliftableTriggerSql(**compiled.sql.kwargs))


class RefuseChange(_Refusal, pgtrigger.Protect):
    """A row trigger that refuses the statement with an integrity error naming the table."""


class RefuseStatement(_Refusal, pgtrigger.Trigger):
    """A statement trigger (``BEFORE ... FOR EACH STATEMENT``) that refuses the statement.

    ``TRUNCATE`` fires no row trigger: it empties the table without reading a row. Only a
    statement trigger sees it (``TRUNCATE ... CASCADE`` fires it on every table it empties).
    """

    when = pgtrigger.Before
    level = pgtrigger.Statement


def append_only_trigger() -> RefuseChange:
    """For ``Meta.triggers`` of an append-only model: no UPDATE, no DELETE, ever."""
    return RefuseChange(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete)


def no_truncate_trigger(reason: str = "rows are append-only") -> RefuseStatement:
    """For ``Meta.triggers`` of an append-only or frozen model, beside its row trigger: no TRUNCATE."""
    trigger = RefuseStatement(name="no_truncate", operation=pgtrigger.Truncate)
    trigger.reason = reason  # no quote: it is inside an SQL string
    return trigger


def frozen_trigger(condition: pgtrigger.Condition, *, name: str, reason: str) -> RefuseChange:
    """For ``Meta.triggers``: no UPDATE or DELETE of a row whose OLD values meet ``condition``."""
    trigger = RefuseChange(name=name, operation=pgtrigger.Update | pgtrigger.Delete, condition=condition)
    trigger.reason = reason
    return trigger


# The history tables (django-simple-history) ------------------------------------------------
#
# The history is the record of who changed what, and the decision log's outside witness
# (launchroom/readiness/ledger.py): its rows are never deleted. An UPDATE stays possible: when a
# user is deleted, Django sets ``history_user`` to NULL on the rows that name them (people
# are deactivated in the portal, not deleted, but the admin of users is Django's own).


def history_kept_trigger() -> RefuseStatement:
    """A history table's trigger: no DELETE, no TRUNCATE (a statement trigger refuses even a
    DELETE that would match no row: nothing in the portal deletes history)."""
    trigger = RefuseStatement(name="history_kept", operation=pgtrigger.Delete | pgtrigger.Truncate)
    trigger.reason = "history is kept"
    return trigger


def keep_history(candidates: Iterable[type[models.Model]]) -> None:
    """Register ``history_kept_trigger`` on every history model among ``models`` (called once,
    by ``CoreConfig.ready``, over every installed model: a new ``HistoricalRecords`` is covered
    without a word). The migrations install it, as they do the triggers of ``Meta.triggers``."""
    for model in candidates:
        if issubclass(model, HistoricalChanges):
            pgtrigger.register(history_kept_trigger())(model)
