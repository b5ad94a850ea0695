from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The bottom layer: shared pieces, the deploy checks, throttle counters and the event log."""

    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        # The deploy checks register themselves; the failed-login event listens to Django's signal;
        # history rows written with no actor name the system account (simple_history's signal).
        from django.apps import apps

        from core import append_only, checks, events, history  # noqa: F401

        append_only.keep_history(apps.get_models())

        history.connect_system_account(self)
        history.build_history_managers_once()
