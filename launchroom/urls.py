"""The launch room (launchroom.views) and the staff portfolio (launchroom.dashboard)."""

from django.urls import path

from launchroom.acceptance import views as acceptance_views
from launchroom.conversation import views as conversation_views
from launchroom.orderforms import room as order_form_views
from launchroom.packet import views as packet_views
from launchroom.portfolio import views as dashboard
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
    path("<slug:slug>/order-form/", order_form_views.order_form, name="order_form"),
    path(
        "<slug:slug>/order-form/approve",
        order_form_views.order_form_review,
        {"answer": "approve"},
        name="order_form_approve",
    ),
    path(
        "<slug:slug>/order-form/request-changes",
        order_form_views.order_form_review,
        {"answer": "changes"},
        name="order_form_changes",
    ),
    path("<slug:slug>/comments", conversation_views.comment_post, name="comment"),
    path("<slug:slug>/acceptance/<int:pk>/", acceptance_views.certificate, name="certificate"),
    path("<slug:slug>/acceptance/<int:pk>.json", acceptance_views.certificate_json, name="certificate_json"),
]
