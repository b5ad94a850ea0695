from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The bottom layer: shared pieces, the deploy checks, throttle counters and the event log."""

    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        # The deploy checks register themselves; the failed-login event listens to Django's signal.
        from core import checks, events  # noqa: F401
