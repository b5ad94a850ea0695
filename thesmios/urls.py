"""Top-level URLs: public pages, accounts, the launch room, the platform API and the admin."""

from django.contrib import admin
from django.urls import include, path

from launchroom import health

admin.site.site_header = "Thesmios launch operations"
admin.site.site_title = "Thesmios launch operations"
admin.site.index_title = "Launch workbench"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("", include("launchroom.public.urls")),
    path("accounts/", include("launchroom.tenants.account_urls")),
    path("launch-room/", include("launchroom.urls")),
    path("api/platform/", include("launchroom.api_urls")),
    path("notifications/", include("launchroom.notifications.urls")),
    path("evidence/", include("evidence.urls")),
    path("admin/", admin.site.urls),
]
