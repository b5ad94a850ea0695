"""Public pages and the product JSON endpoints (no login)."""

from django.urls import path

from launchroom.public import views as public

urlpatterns = [
    path("", public.home, name="home"),
    path("managed-beta", public.managed_beta, name="managed_beta"),
    path("production-proof", public.production_proof, name="production_proof"),
    path("api/product/managed-beta-readiness", public.managed_beta_json, name="api_managed_beta"),
    path("api/product/production-proof", public.production_proof_json, name="api_production_proof"),
    path(
        "api/product/security-assurance",
        public.evidence_pack_json,
        {"pack": "security-assurance"},
        name="api_security_assurance",
    ),
    path(
        "api/product/procurement-evidence",
        public.evidence_pack_json,
        {"pack": "procurement-evidence"},
        name="api_procurement_evidence",
    ),
    path(
        "api/product/operations-evidence",
        public.evidence_pack_json,
        {"pack": "operations-evidence"},
        name="api_operations_evidence",
    ),
]
