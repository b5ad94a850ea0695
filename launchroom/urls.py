from django.urls import path

from launchroom import views

app_name = "launchroom"

urlpatterns = [
    path("", views.index, name="index"),
    path("<slug:slug>/", views.room, name="room"),
]
