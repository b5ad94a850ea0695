"""Owners that never change: a record's tenant is fixed once the record exists.

A billing profile moved to another tenant took its buyer's fallback acceptance along and
met the new tenant's gate 4; the same move on a support plan, an incident, an order form or
a membership would carry one customer's data into another's launch room. The mixin
remembers the owner columns as loaded from the database and refuses ``save()`` when one
changed. (Append-only records refuse every change already; the admin shows the tenant
read-only once a record exists, ``core.admin.HistoryAdmin``.)

``save()`` is one path of four: ``FixedTenantQuerySet`` refuses a queryset ``update()``, a
``bulk_update()`` and an upserting ``bulk_create()`` that would write an owner column, and
on PostgreSQL ``fixed_owner_trigger`` refuses a raw ``UPDATE`` that changes it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any, ClassVar

import pgtrigger
from django.db import models

from core.append_only import RefuseChange


class FixedOwnerError(Exception):
    """Raised when code tries to move an existing record to another owner (tenant)."""


class FixedTenantMixin:
    """Put before ``models.Model`` in the bases. ``fixed_fields`` names the owner
    columns by attname (``tenant_id`` unless the model says otherwise)."""

    fixed_fields: ClassVar[tuple[str, ...]] = ("tenant_id",)
    _state: Any
    pk: Any
    __dict__: dict[str, Any]

    @classmethod
    def from_db(cls, db: str | None, field_names: Any, values: Any) -> Any:
        instance = super().from_db(db, field_names, values)  # type: ignore[misc]  # a mixin: Model is next in the MRO
        instance._remember_owner()
        return instance

    def _owner_before(self) -> dict[str, Any]:
        """The owner columns of the row this save would write over: as loaded, or, for a new
        instance carrying an existing row's key (which Django saves as an UPDATE of that
        row), as stored."""
        if not self._state.adding:
            return getattr(self, "_loaded_owner", {})
        if self.pk is None:
            return {}
        manager = type(self)._base_manager  # type: ignore[attr-defined]  # a mixin: Model is next in the MRO
        return manager.filter(pk=self.pk).values(*self.fixed_fields).first() or {}

    def _remember_owner(self) -> None:
        # A deferred column is not in __dict__; it was not loaded, so it cannot have been changed.
        self._loaded_owner = {name: self.__dict__[name] for name in self.fixed_fields if name in self.__dict__}

    def save(self, *args: Any, **kwargs: Any) -> None:
        for name, loaded in self._owner_before().items():
            if name in self.__dict__ and self.__dict__[name] != loaded:
                field = name.removesuffix("_id")
                raise FixedOwnerError(
                    f"{type(self).__name__} {self.pk} belongs to {field} {loaded}; its {field} cannot change."
                )
        super().save(*args, **kwargs)  # type: ignore[misc]  # a mixin: Model is next in the MRO
        self._remember_owner()


def owner_fields(model: type[models.Model]) -> list[str]:
    """The field names (not attnames) ``model`` keeps fixed: its tenant, or its ``fixed_fields``."""
    fixed = getattr(model, "fixed_fields", None)
    if fixed is not None:
        return [name.removesuffix("_id") for name in fixed]
    return ["tenant"] if any(f.name == "tenant" for f in model._meta.get_fields()) else []


def _refuse_owner_columns(model: type[models.Model], names: Iterable[str], how: str) -> None:
    fixed = {name for field in owner_fields(model) for name in (field, f"{field}_id")}
    touched = sorted(fixed & set(names))
    if touched:
        field = touched[0].removesuffix("_id")
        raise FixedOwnerError(f"{model.__name__}.{field} is fixed once a record exists; {how} cannot change it.")


class FixedTenantQuerySet(models.QuerySet):
    """A queryset that never writes an owner column of rows that exist: ``update()``,
    ``bulk_update()`` and ``bulk_create(update_conflicts=True)`` naming it refuse, whatever
    the value (moving a row to the tenant it already has is no change worth allowing)."""

    def update(self, **kwargs: Any) -> int:
        _refuse_owner_columns(self.model, kwargs, "update()")
        return super().update(**kwargs)

    def bulk_update(self, objs: Iterable[Any], fields: Iterable[str], batch_size: int | None = None) -> int:
        fields = list(fields)
        _refuse_owner_columns(self.model, fields, "bulk_update()")
        return super().bulk_update(objs, fields, batch_size=batch_size)

    def bulk_create(
        self,
        objs: Iterable[Any],
        batch_size: int | None = None,
        ignore_conflicts: bool = False,
        update_conflicts: bool = False,
        update_fields: Collection[str] | None = None,
        unique_fields: Collection[str] | None = None,
    ) -> list[Any]:
        if update_conflicts:
            update_fields = list(update_fields or ())
            _refuse_owner_columns(self.model, update_fields, "bulk_create(update_conflicts=True)")
        return super().bulk_create(
            objs,
            batch_size=batch_size,
            ignore_conflicts=ignore_conflicts,
            update_conflicts=update_conflicts,
            update_fields=update_fields,
            unique_fields=unique_fields,
        )


def fixed_owner_trigger(field: str = "tenant") -> RefuseChange:
    """For ``Meta.triggers`` (PostgreSQL): no UPDATE that changes ``field`` of a row."""
    trigger = RefuseChange(name=f"fixed_{field}", operation=pgtrigger.Update, condition=pgtrigger.AnyChange(field))
    trigger.reason = f"the {field} of a record is fixed once created"  # no quote: it is inside an SQL string
    return trigger
