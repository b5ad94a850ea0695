"""The catalog's vocabulary: requirement kinds, effects, staff roles, and the shapes of a gate
and of its requirements (docs/RULES.md section 3)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    ATTACHMENT = "attachment"
    RECORD = "record"


class Effect(StrEnum):
    HOLD = "HOLD"
    CAP = "CAP"
    CLAIMS = "CLAIMS"


class Role(StrEnum):
    """Staff roles; each is a Django group of the same name."""

    COMMERCIAL = "Commercial owner"
    OPERATOR = "Operator"
    FINANCE = "Finance owner"
    SECURITY = "Security owner"
    SUPPORT = "Support owner"


# The owner named in next actions for the buyer's side of a launch.
BUYER = "Buyer"

DEFAULT_FRESHNESS = "default"  # the EVIDENCE_FRESHNESS_DAYS setting


# Buyer wording for each gate's "if missing" line, shown in the launch room instead of the
# seed's staff instruction: what holding means for the buyer, and what they can do about it.
BUYER_IF_MISSING: dict[str, str] = {
    "public-deployment": "Your rollout waits until Thesmios has proven its production site and public evidence. "
    "Nothing is needed from you.",
    "strict-proof-plan": "Your launch waits until Thesmios has run its production proof. Nothing is needed from you.",
    "order-form-scope": "Your launch stays in setup until the order form is signed. Review the order form when "
    "Thesmios sends it to you, and approve it or request changes.",
    "billing-route": "Until billing is agreed you can run a no-charge private beta only. Your buyer sponsor or "
    "buyer finance accepts the manual billing fallback here once the terms are set.",
    "tenant-access-proof": "Your tenant cannot go live until Thesmios has proven that only your people can reach "
    "it. Nothing is needed from you.",
    "credential-evidence-proof": "Until Thesmios proves these controls, they are left out of what your launch "
    "covers. Nothing is needed from you.",
    "support-fallback": "Support stays manual: Thesmios reaches you through the named support channel, not by "
    "automated e-mail.",
    "security-procurement-pack": "As a regulated buyer, your launch waits for your security and procurement "
    "review. Ask your Thesmios contact for the packs, and tell them your decision.",
    "customer-acceptance": "Your launch does not go live until your buyer sponsor signs the acceptance record below.",
    "self-serve-exclusions": "The order form must list the claims this launch does not make. Thesmios adds them "
    "before it is signed.",
}


@dataclass(frozen=True)
class Requirement:
    key: str
    label: str
    kind: Kind
    # When set, the requirement counts only if this Tenant flag is true (the seed's
    # "when ... is configured"); otherwise its claim goes to do-not-claim instead.
    configured_flag: str | None = None
    # Days an attachment stays fresh: DEFAULT_FRESHNESS, a number, or None (never stale).
    freshness_days: int | str | None = None
    # The claim this requirement supports, named in do-not-claim while it is not proven.
    claim: str | None = None
    # What to do to meet it, shown as the next action.
    action: str = ""
    # Who does it, when not the gate's action owner.
    owner: str = ""

    @property
    def conditional(self) -> bool:
        return self.configured_flag is not None


@dataclass(frozen=True)
class Gate:
    number: int
    key: str
    title: str
    summary: str
    owner: str
    audience: str
    acceptance: str
    decided_by: Role | None  # None: a record gate, the record is the decision
    requirements: tuple[Requirement, ...]
    effect: Effect
    if_missing: str
    required_evidence: tuple[str, ...]  # the seed's "Required evidence" column
    claims: tuple[str, ...] = ()
    # Gate 8: HOLD for a regulated buyer, otherwise CLAIMS.
    hold_when_regulated: bool = False
    # Who is asked to act when the gate is not met.
    action_owner: str = ""
    hold_reason: str = ""

    @property
    def attachment_requirements(self) -> tuple[Requirement, ...]:
        return tuple(r for r in self.requirements if r.kind == Kind.ATTACHMENT)

    def requirement(self, key: str) -> Requirement:
        for requirement in self.requirements:
            if requirement.key == key:
                return requirement
        raise KeyError(key)

    @property
    def buyer_if_missing(self) -> str:
        """What an unmet gate means, and what the buyer can do, in the buyer's words (the
        launch room only; staff read ``if_missing``)."""
        return BUYER_IF_MISSING.get(self.key, self.if_missing)

    def effect_for(self, *, regulated_buyer: bool) -> Effect:
        if self.hold_when_regulated and regulated_buyer:
            return Effect.HOLD
        return self.effect


STANDING_EXCLUSIONS: tuple[str, ...] = (
    "self-serve paid checkout (Stripe)",
    "broad enterprise SSO/SCIM and HRIS automation",
    "official issuer automation (connectors)",
    "external certifications and external malware scanning",
)
