"""Query counts pinned exactly, in one baseline file (``tests/query_counts.json``), as NetBox does.

A page, changelist or endpoint that runs one query more (or fewer) than its pinned count fails
its test, and the reviewer sees the change in the baseline file. After a deliberate change,
regenerate the baseline and review the diff:

    UPDATE_QUERY_COUNTS=1 make test
    UPDATE_QUERY_COUNTS=1 .venv/bin/python -m pytest tests/test_query_counts.py   # the sweep only

In update mode the tests record what they measured instead of failing (xdist workers write
under a file lock), and the file is rewritten sorted.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

BASELINE = Path(__file__).with_name("query_counts.json")
UPDATING = os.environ.get("UPDATE_QUERY_COUNTS") == "1"
# Outside the checkout, one per checkout: xdist workers take turns rewriting the baseline.
LOCK = Path(tempfile.gettempdir()) / f"query-counts-{hashlib.sha256(str(BASELINE).encode()).hexdigest()[:12]}.lock"


def baseline() -> dict[str, int]:
    return json.loads(BASELINE.read_text()) if BASELINE.exists() else {}


def record(counts: dict[str, int]) -> None:
    """Merge ``counts`` into the baseline file (update mode)."""
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        merged = {**baseline(), **counts}
        BASELINE.write_text(json.dumps(dict(sorted(merged.items())), indent=2) + "\n")


def pinned(name: str) -> int:
    counts = baseline()
    if name not in counts:
        pytest.fail(f"{name!r} has no pinned query count in {BASELINE.name}: run with UPDATE_QUERY_COUNTS=1")
    return counts[name]


def describe(name: str, expected: int | None, queries: list[dict[str, str]]) -> str:
    lines = [f"{name}: {len(queries)} queries, pinned {expected}"]
    lines += [f"  {i}. {q['sql'][:300]}" for i, q in enumerate(queries, 1)]
    return "\n".join(lines)


@contextmanager
def assert_pinned_queries(name: str) -> Iterator[CaptureQueriesContext]:
    """Run the block and compare its query count with the pinned count of ``name``."""
    with CaptureQueriesContext(connection) as captured:
        yield captured
    if UPDATING:
        record({name: len(captured.captured_queries)})
        return
    expected = pinned(name)
    assert len(captured.captured_queries) == expected, describe(name, expected, captured.captured_queries)
