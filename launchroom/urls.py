"""The launch room (launchroom.views) and the staff portfolio (launchroom.dashboard)."""

from django.urls import path

from launchroom.acceptance import views as acceptance_views
from launchroom.gates import dashboard
from launchroom.packet import views as packet_views
from launchroom.room import evidence, views

app_name = "launchroom"

urlpatterns = [
    path("", views.index, name="index"),
    path("portfolio.csv", dashboard.portfolio_csv, name="portfolio_csv"),
    path("<slug:slug>/", views.room, name="room"),
    path("<slug:slug>/sign", views.sign, name="sign"),
    path("<slug:slug>/billing-fallback", views.billing_fallback, name="billing_fallback"),
    path("<slug:slug>/evidence/", evidence.evidence_list, name="evidence"),
    path("<slug:slug>/packet.zip", packet_views.packet_zip, name="packet"),
    path("<slug:slug>/acceptance/<int:pk>/", acceptance_views.certificate, name="certificate"),
    path("<slug:slug>/acceptance/<int:pk>.json", acceptance_views.certificate_json, name="certificate_json"),
]
