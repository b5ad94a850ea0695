"""Public pages and their JSON twins (docs/RULES.md section 6): no login, no tenant data.

Everything here is generated from the gate catalog (``launchroom.catalog``) and the
published product evidence (``launchroom.product``), so the page, its JSON and the proof
commands that check them cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from core.errorpages import json_methods
from launchroom import catalog
from launchroom.catalog import Gate
from launchroom.public import copy, product
from launchroom.public.copy import ProofCommand

PACK_TITLES = {
    "security-assurance": "Security assurance",
    "procurement-evidence": "Procurement evidence",
    "operations-evidence": "Operations evidence",
}


def gate_json(gate: Gate) -> dict[str, Any]:
    """One gate as the public JSON gives it: every seed text, plus how the portal enforces it."""
    return {
        "number": gate.number,
        "key": gate.key,
        "title": gate.title,
        "summary": gate.summary,
        "owner": gate.owner,
        "audience": gate.audience,
        "acceptance": gate.acceptance,
        "required_evidence": list(gate.required_evidence),
        "portal_equivalents": [copy.PORTAL_EQUIVALENTS.get(item, "") for item in gate.required_evidence],
        "if_missing": gate.if_missing,
        "decided_by": gate.decided_by.value if gate.decided_by else None,
        "effect": str(gate.effect),
        "hold_when_regulated": gate.hold_when_regulated,
        "claims": list(gate.claims),
        "requirements": [
            {"key": r.key, "label": r.label, "kind": str(r.kind), "conditional": r.conditional}
            for r in gate.requirements
        ],
    }


def command_json(command: ProofCommand) -> dict[str, str]:
    return {"name": command.name, "title": command.title, "summary": command.summary, "command": command.command}


def effect_text(gate: Gate) -> str:
    """How the portal enforces the gate, in words (from the catalog's effect)."""
    if gate.effect == catalog.Effect.CAP:
        return "Caps the tenant at a no-charge private beta"
    if gate.effect == catalog.Effect.CLAIMS:
        claims = ", ".join(gate.claims)
        if gate.hold_when_regulated:
            return f"Holds a regulated buyer; otherwise excludes the claim: {claims}"
        return f"Excludes the claims: {claims}"
    return "Holds the tenant"


def managed_beta_data() -> dict[str, Any]:
    """The managed-beta readiness page as data: what the page renders and the JSON returns."""
    page = copy.PAGE
    return {
        "title": page["title"],
        "tagline": page["tagline"],
        "lead": page["lead"],
        "counts": copy.counts(),
        "decision": {
            "heading": page["decision_heading"],
            "lead": page["decision_lead"],
            "go": page["go"],
            "hold": page["hold"],
            "do_not_claim": page["do_not_claim"],
        },
        "gates": [gate_json(gate) for gate in catalog.GATES],
        "excluded_claims": list(catalog.STANDING_EXCLUSIONS),
        "commands": {
            "lead": page["commands_lead"],
            "note": page["commands_note"],
            "items": [command_json(c) for c in (*copy.COMMANDS, copy.ACCEPTANCE_COMMAND)],
        },
        "boundary": {"heading": page["boundary_heading"], "text": page["boundary"]},
        "portal_version": settings.PORTAL_VERSION,
    }


def _json(data: dict[str, Any]) -> JsonResponse:
    return JsonResponse(data, json_dumps_params={"ensure_ascii": False})


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "public/home.html",
        {"page": copy.PAGE, "counts": copy.counts(), "packs": PACK_TITLES.items()},
    )


@require_safe
def managed_beta(request: HttpRequest) -> HttpResponse:
    data = managed_beta_data()
    gates = [
        (gate, effect_text(gate), [(item, copy.PORTAL_EQUIVALENTS.get(item, "")) for item in gate.required_evidence])
        for gate in catalog.GATES
    ]
    return render(request, "public/managed_beta.html", {"data": data, "gates": gates})


@json_methods("GET", "HEAD")
def managed_beta_json(request: HttpRequest) -> JsonResponse:
    return _json(managed_beta_data())


@require_safe
def production_proof(request: HttpRequest) -> HttpResponse:
    return render(request, "public/production_proof.html", {"proof": product.production_proof()})


@json_methods("GET", "HEAD")
def production_proof_json(request: HttpRequest) -> JsonResponse:
    return _json(product.production_proof())


@json_methods("GET", "HEAD")
def evidence_pack_json(request: HttpRequest, pack: str) -> JsonResponse:
    build = product.PACKS.get(pack)
    if build is None:
        raise Http404
    return _json({"pack": pack, **build(), "portal_version": settings.PORTAL_VERSION})
