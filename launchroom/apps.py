from django.apps import AppConfig


class LaunchroomConfig(AppConfig):
    name = "launchroom"
    verbose_name = "Launch operations"
