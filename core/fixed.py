"""Owners that never change: a record's tenant is fixed once the record exists.

A billing profile moved to another tenant took its buyer's fallback acceptance along and
met the new tenant's gate 4; the same move on a support plan, an incident, an order form or
a membership would carry one customer's data into another's launch room. The mixin
remembers the owner columns as loaded from the database and refuses ``save()`` when one
changed. (Append-only records refuse every change already; the admin shows the tenant
read-only once a record exists, ``core.admin.HistoryAdmin``.)
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models


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

    def _remember_owner(self) -> None:
        # A deferred column is not in __dict__; it was not loaded, so it cannot have been changed.
        self._loaded_owner = {name: self.__dict__[name] for name in self.fixed_fields if name in self.__dict__}

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            for name, loaded in getattr(self, "_loaded_owner", {}).items():
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
