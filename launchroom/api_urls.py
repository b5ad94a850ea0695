"""The platform API: readiness (launchroom.api_readiness) and acceptance (launchroom.api)."""

from django.urls import path

from launchroom import readiness_api as api_readiness
from launchroom.acceptance import api, countersign_api

urlpatterns = [
    path("tenants/<slug:slug>/readiness", api_readiness.readiness, name="api_readiness"),
    path("tenants/<slug:slug>/transitions", api_readiness.transitions, name="api_transitions"),
    path("launch-acceptance", api.launch_acceptance, name="api_launch_acceptance"),
    path("launch-acceptance/<int:pk>/countersign", countersign_api.countersign, name="api_acceptance_countersign"),
    path("launch-acceptance/<int:pk>/decline", countersign_api.decline, name="api_acceptance_decline"),
]
