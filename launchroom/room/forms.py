"""Launch-room forms: the buyer's acceptance signature and the billing fallback acceptance.

The forms only shape input; the rules of docs/RULES.md section 5 live in ``services.acceptance_sign``
and their refusals are shown on the form.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms

from launchroom.acceptance.services import AFFIRMATION
from launchroom.models import AcceptanceDecision, LaunchStage

DECISION_HELP = {
    AcceptanceDecision.ACCEPTED: "Go for this stage. Only possible when every gate other than this one is met.",
    AcceptanceDecision.ACCEPTED_WITH_EXCLUSIONS: "Go for this stage, with the claims listed below excluded. "
    "Nothing may hold or cap the stage.",
    AcceptanceDecision.DEFERRED: "Not yet: say why in the residual risks or the note.",
    AcceptanceDecision.REJECTED: "No: say why in the residual risks or the note.",
    AcceptanceDecision.SUPERSEDED: "Withdraw the current acceptance record without replacing it.",
}


def split_lines(value: str) -> list[str]:
    """One entry per non-empty line, in order, without repeats."""
    seen: dict[str, None] = {}
    for line in value.splitlines():
        if line.strip():
            seen.setdefault(line.strip(), None)
    return list(seen)


class AcceptanceForm(forms.Form):
    """The buyer sponsor's signature of the acceptance record for one stage."""

    stage = forms.ChoiceField(choices=LaunchStage.choices, widget=forms.HiddenInput)
    snapshot_sha256 = forms.CharField(widget=forms.HiddenInput, max_length=64)
    decision = forms.ChoiceField(label="Your decision", choices=AcceptanceDecision.choices, widget=forms.RadioSelect)
    signer_name = forms.CharField(
        label="Your full name",
        max_length=200,
        help_text="Typing your full name is your signature.",
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    signer_role = forms.CharField(
        label="Your role",
        max_length=200,
        help_text="Your job title at your organisation.",
        widget=forms.TextInput(attrs={"autocomplete": "organization-title"}),
    )
    approval_reference = forms.CharField(
        label="Approval reference",
        max_length=120,
        required=False,
        help_text="The signed order form's reference; left empty, it is filled in for you.",
    )
    exclusions = forms.CharField(
        label="Excluded claims",
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="One per line. Every claim the portal may not make yet must stay listed.",
    )
    residual_risks = forms.CharField(
        label="Residual risks",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One per line: the risks you accept for this stage, or why you defer or reject it.",
    )
    note = forms.CharField(label="Note", required=False, widget=forms.Textarea(attrs={"rows": 3}))
    affirmation = forms.BooleanField(label=AFFIRMATION, required=True)

    def __init__(self, *args: Any, disabled: bool = False, can_withdraw: bool = True, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.offer_withdraw(can_withdraw)
        if disabled:
            for field in self.fields.values():
                field.disabled = True

    def offer_withdraw(self, can_withdraw: bool) -> None:
        """Offer "superseded (withdrawn)" only when there is a current record to withdraw:
        otherwise it would only lead to a refusal (also when the form comes back with errors)."""
        if not can_withdraw:
            cast(forms.ChoiceField, self.fields["decision"]).choices = [
                c for c in AcceptanceDecision.choices if c[0] != AcceptanceDecision.SUPERSEDED
            ]

    def decision_choices(self) -> list[dict[str, Any]]:
        """The decision radios with their help, for a template that lays them out as cards."""
        return [{"widget": radio, "help": DECISION_HELP.get(radio.data["value"], "")} for radio in self["decision"]]

    def clean_exclusions(self) -> list[str]:
        return split_lines(self.cleaned_data.get("exclusions", ""))

    def clean_residual_risks(self) -> list[str]:
        return split_lines(self.cleaned_data.get("residual_risks", ""))

    def clean_signer_name(self) -> str:
        return self.cleaned_data["signer_name"].strip()

    def clean_signer_role(self) -> str:
        return self.cleaned_data["signer_role"].strip()


class BillingFallbackForm(forms.Form):
    """The buyer's acceptance of the manual (invoice) billing fallback for the terms shown."""

    name = forms.CharField(
        label="Your full name", max_length=200, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    confirm = forms.BooleanField(
        label="I accept invoice billing as the manual fallback for the billing terms shown above.", required=True
    )
