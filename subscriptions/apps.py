"""The subscriptions app: connects Mailgun's delivery events to subscriptions when Django starts,
and registers its system checks."""

from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"
    verbose_name = "Daily playlist subscriptions"

    def ready(self):
        from anymail.signals import tracking

        from .delivery import (
            checks,  # noqa: F401  (registers the mail checks)
            receivers,
        )
        from .listening.receivers import handle_delivered

        tracking.connect(
            receivers.handle_tracking_event, dispatch_uid="subscriptions.tracking_event"
        )
        tracking.connect(receivers.handle_daily_outcome, dispatch_uid="subscriptions.daily_outcome")
        tracking.connect(handle_delivered, dispatch_uid="subscriptions.listening_delivered")
