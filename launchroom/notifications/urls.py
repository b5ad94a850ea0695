from django.urls import path

from launchroom.notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("read-all", views.read_all, name="read_all"),
    path("<int:pk>/", views.open_notification, name="open"),
]
