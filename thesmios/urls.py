"""Top-level URLs: public pages, accounts, the launch room, the platform API and the admin."""

from django.contrib import admin
from django.urls import include, path

from core.admin import guard_changelists
from launchroom import health
from launchroom.packet import views as packet_views
from launchroom.tenants.accounts import AdminLoginForm

admin.site.site_header = "Thesmios launch operations"
admin.site.site_title = "Thesmios launch operations"
admin.site.index_title = "Launch workbench"
admin.site.login_form = AdminLoginForm
guard_changelists(admin.site)

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path(".well-known/thesmios-packet-key.pem", packet_views.packet_key, name="packet_key"),
    path("tools/verify_packet.py", packet_views.packet_verifier, name="packet_verifier"),
    path("verify/<str:code>", packet_views.verify, name="verify"),
    path("", include("launchroom.public.urls")),
    path("accounts/", include("launchroom.tenants.account_urls")),
    path("launch-room/", include("launchroom.urls")),
    path("api/platform/", include("launchroom.api_urls")),
    path("notifications/", include("launchroom.notifications.urls")),
    path("evidence/", include("evidence.urls")),
    path("admin/", admin.site.urls),
]

# Under /api/ every answer is JSON, errors included (core/errorpages.py).
handler400 = "core.errorpages.bad_request"
handler403 = "core.errorpages.permission_denied"
handler404 = "core.errorpages.page_not_found"
handler500 = "core.errorpages.server_error"
