"""A query compiled once and run again with another id: for the reads every write repeats.

Every write re-evaluates its tenant (``launchroom.gates.projection``), which loads the tenant
and its order forms, evidence, decisions and acceptances by the tenant's id. On SQLite, of the
7 ms that load took, about 4 ms went to building and compiling the five querysets and well
under 1 ms to running them. A ``Prepared`` query compiles its queryset once per database
alias, with a marker in place of the id, and afterwards only runs the stored SQL and builds
the rows as Django's ``ModelIterable`` does: the same columns and converters (found once, with
the SQL, where ``results_iter`` looks them up on every call), the same ``select_related``
objects and annotations. The SQL is what the ORM wrote; nothing is
written by hand.

For querysets whose SQL does not depend on the id's value: the id goes in one parameter
(``pk=``, ``tenant_id=`` or a one-element ``__in``), and nothing else varies. No
``select_for_update`` (refused) and no ``prefetch_related`` (it would not run).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators  # type: ignore[attr-defined]

M = TypeVar("M", bound=Model)

# Stands in for the id while compiling: no table here has a negative id.
MARKER = -730_000_007


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    position: int  # of the id in ``params``
    converters: list[tuple[int, tuple[list[Any], Any]]]  # column -> (converters, expression)
    model: type[Model]
    start: int
    end: int
    init_list: list[str]
    related: list[Any]
    annotations: dict[str, int]


class Prepared(Generic[M]):
    """``build(id)`` gives the queryset; ``run(id, using)`` gives its rows as model instances."""

    def __init__(self, build: Callable[[int], QuerySet[M]]) -> None:
        self._build = build
        self._compiled: dict[str, _Compiled] = {}
        self._lock = threading.Lock()

    def run(self, value: int, using: str) -> list[M]:
        compiled = self._compiled.get(using) or self._compile(using)
        params = list(compiled.params)
        params[compiled.position] = value
        with connections[using].cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        objects = []
        connection, converters = connections[using], compiled.converters
        for row in map(list, rows) if converters else rows:
            for position, (functions, expression) in converters:
                value = row[position]
                for convert in functions:
                    value = convert(value, expression, connection)
                row[position] = value
            obj = compiled.model.from_db(using, compiled.init_list, row[compiled.start : compiled.end])
            for populator in compiled.related:
                populator.populate(row, obj)
            for name, position in compiled.annotations.items():
                setattr(obj, name, row[position])
            objects.append(obj)
        return objects  # type: ignore[return-value]

    def _compile(self, using: str) -> _Compiled:
        with self._lock:
            if using in self._compiled:
                return self._compiled[using]
            queryset = self._build(MARKER).using(using)
            if queryset.query.select_for_update:
                raise ImproperlyConfigured("A prepared query cannot lock rows: run it through the ORM.")
            compiler = queryset.query.get_compiler(using=using)
            sql, params = compiler.as_sql()
            positions = [i for i, param in enumerate(params) if param == MARKER]
            if len(positions) != 1:
                raise ImproperlyConfigured(f"A prepared query takes its id in one parameter, not {len(positions)}.")
            klass_info, select = compiler.klass_info, compiler.select
            fields = [column[0] for column in select[: compiler.col_count]]
            if compiler.has_composite_fields(fields):
                raise ImproperlyConfigured("A prepared query cannot select a composite primary key.")
            start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
            compiled = _Compiled(
                sql=sql,
                params=tuple(params),
                position=positions[0],
                converters=list(compiler.get_converters(fields).items()),
                model=klass_info["model"],
                start=start,
                end=end,
                init_list=[column[0].target.attname for column in select[start:end]],
                related=get_related_populators(klass_info, select, using),
                annotations=dict(compiler.annotation_col_map or {}),
            )
            self._compiled[using] = compiled
            return compiled
