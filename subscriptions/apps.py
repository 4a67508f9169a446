"""The subscriptions app: connects Mailgun's delivery events to subscriptions when Django starts."""

from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"
    verbose_name = "Daily playlist subscriptions"

    def ready(self):
        from anymail.signals import tracking

        from . import receivers

        tracking.connect(
            receivers.handle_tracking_event, dispatch_uid="subscriptions.tracking_event"
        )
