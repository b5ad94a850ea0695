"""The one status vocabulary: every status the portal shows has one label and one colour.

A status is shown as ``<span class="status status--<key>">Label</span>``: the words carry
the meaning, the colour only repeats it. The colour of each key lives in one stylesheet,
``static/css/status.css``, in the rule of the key's tone (tests/test_status.py checks the
two agree). The launch room, the certificate, the dashboard, the public pages and the admin
all render statuses through :func:`badge` (templates: ``{% status %}`` from ``core_status``).

A key means the same thing in every vocabulary it appears in ("accepted" is accepted
whether a gate, a gate decision or the buyer's record says it), so it has one label and one
tone across them all; :func:`status` finds it in any vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.utils.html import format_html
from django.utils.safestring import SafeString


class Tone(StrEnum):
    """The colours a status can take (``status.css`` has one rule per tone)."""

    GOOD = "good"  # green: met, go, accepted
    BAD = "bad"  # red: missing, hold, rejected
    WARN = "warn"  # amber: stale, deferred: needs attention, not a refusal
    REVIEW = "review"  # blue: waiting on someone's decision
    NEUTRAL = "neutral"  # grey: no judgement (draft, withdrawn, not configured)


@dataclass(frozen=True)
class Status:
    key: str
    label: str
    tone: Tone

    @property
    def css_class(self) -> str:
        return f"status status--{self.key}"

    def badge(self) -> SafeString:
        return format_html('<span class="{}">{}</span>', self.css_class, self.label)


def _vocabulary(*entries: tuple[str, str, Tone]) -> dict[str, Status]:
    return {key: Status(key, label, tone) for key, label, tone in entries}


# docs/RULES.md section 4: a gate's status for a tenant.
READINESS = _vocabulary(
    ("missing", "Missing", Tone.BAD),
    ("stale", "Stale", Tone.WARN),
    ("ready_for_review", "Ready for review", Tone.REVIEW),
    ("rejected", "Rejected", Tone.BAD),
    ("accepted", "Accepted", Tone.GOOD),
)
# docs/RULES.md section 4: the readiness decision.
DECISION = _vocabulary(
    ("go", "Go", Tone.GOOD),
    ("hold", "Hold", Tone.BAD),
)
# docs/RULES.md section 5: the buyer's acceptance decision (labels as the model's choices).
ACCEPTANCE = _vocabulary(
    ("accepted", "Accepted", Tone.GOOD),
    ("accepted_with_exclusions", "Accepted with exclusions", Tone.GOOD),
    ("deferred", "Deferred", Tone.WARN),
    ("rejected", "Rejected", Tone.BAD),
    ("superseded", "Superseded (withdrawn)", Tone.NEUTRAL),
)
# docs/RULES.md section 11: the order-form workflow (labels as the model's choices).
ORDER_FORM = _vocabulary(
    ("draft", "Draft", Tone.NEUTRAL),
    ("sent", "Sent to buyer", Tone.REVIEW),
    ("changes_requested", "Changes requested by buyer", Tone.WARN),
    ("approved", "Approved by buyer", Tone.REVIEW),
    ("signed", "Signed", Tone.GOOD),
)
# An owner's gate decision (labels as the model's choices).
GATE_DECISION = _vocabulary(
    ("accepted", "Accepted", Tone.GOOD),
    ("rejected", "Rejected", Tone.BAD),
    ("reopened", "Reopened", Tone.REVIEW),
)
# One requirement of a gate.
REQUIREMENT = _vocabulary(
    ("met", "Met", Tone.GOOD),
    ("not_applicable", "Not configured", Tone.NEUTRAL),
    ("missing", "Missing", Tone.BAD),
    ("stale", "Stale", Tone.WARN),
    ("rejected", "Rejected", Tone.BAD),
)
VOCABULARIES: dict[str, dict[str, Status]] = {
    "readiness": READINESS,
    "decision": DECISION,
    "acceptance": ACCEPTANCE,
    "order_form": ORDER_FORM,
    "gate_decision": GATE_DECISION,
    "requirement": REQUIREMENT,
}
ALL: dict[str, Status] = {}
for _entries in VOCABULARIES.values():
    for _key, _status in _entries.items():
        if ALL.setdefault(_key, _status) != _status:  # pragma: no cover - caught at import
            raise AssertionError(f"status {_key!r} has two labels or tones: {ALL[_key]} and {_status}")


def status(key: str) -> Status:
    """The status ``key`` in whichever vocabulary has it; an unknown key shows grey, as words."""
    return ALL.get(key) or Status(key, key.replace("_", " ").capitalize(), Tone.NEUTRAL)


def label(key: str) -> str:
    return status(key).label


def badge(key: str) -> SafeString:
    """The badge of status ``key``: its one label in its one colour."""
    found = ALL.get(key)
    if found is None:
        return tone_badge(Tone.NEUTRAL, status(key).label)
    return found.badge()


def tone_badge(tone: Tone | str, words: str) -> SafeString:
    """A badge that is not one of the statuses above ("Current", "In force", "Fallen to hold"):
    the words say it, the tone colours it (class ``status--<tone>``)."""
    return format_html('<span class="status status--{}">{}</span>', Tone(tone).value, words)
