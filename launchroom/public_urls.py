from django.urls import path

from launchroom import public

urlpatterns = [
    path("", public.home, name="home"),
    path("managed-beta", public.home, name="managed_beta"),
    path("production-proof", public.home, name="production_proof"),
]
