"""The launch room (launchroom.views) and the staff portfolio (launchroom.dashboard)."""

from django.urls import path

from launchroom import dashboard, views

app_name = "launchroom"

urlpatterns = [
    path("", views.index, name="index"),
    path("portfolio.csv", dashboard.portfolio_csv, name="portfolio_csv"),
    path("<slug:slug>/", views.room, name="room"),
]
