"""The tenant changelist's stage filter."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from launchroom.models import Stage


class ActiveStageFilter(admin.SimpleListFilter):
    """Stage filter that shows the active launches (not ended) unless asked otherwise."""

    title = "stage"
    parameter_name = "stage"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("active", "Active (not ended)"), *Stage.choices, ("all", "All")]

    def choices(self, changelist: Any):  # type: ignore[no-untyped-def]
        value = self.value() or "active"
        for lookup, title in self.lookup_choices:
            yield {
                "selected": value == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value() or "active"
        if value == "active":
            return queryset.exclude(stage=Stage.ENDED)
        if value in Stage.values:
            return queryset.filter(stage=value)
        return queryset
