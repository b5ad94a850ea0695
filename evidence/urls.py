"""Authenticated evidence downloads."""

from django.urls import path

from evidence import views

app_name = "evidence"

urlpatterns = [
    path("<int:pk>/download", views.download, name="download"),
]
