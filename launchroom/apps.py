from django.apps import AppConfig


class LaunchroomConfig(AppConfig):
    name = "launchroom"
    verbose_name = "Launch operations"

    def ready(self) -> None:
        # What follows a change in a lower app is registered here, at start-up (core/hooks.py):
        # billing/ and evidence/ announce, launchroom listens.
        from launchroom import listeners  # noqa: F401
        from launchroom.packet import keys  # noqa: F401  (registers the deploy check on the packet key)
