"""Whether the daily run can go to the workers: a broker configured, reachable, listened to."""

from celery import current_app
from django.conf import settings
from kombu.utils.url import maybe_sanitize_url


def broker_configured() -> bool:
    """A broker is set (CELERY_BROKER_URL, else REDIS_URL): runs go to the workers."""
    return bool(settings.CELERY_BROKER_URL)


def broker_name() -> str:
    """The broker's URL without its password, for messages."""
    return str(maybe_sanitize_url(settings.CELERY_BROKER_URL))


def broker_problem() -> str | None:
    """Why the broker cannot be reached now, in one line; None when it can."""
    try:
        with current_app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0)
    except Exception as error:  # kombu raises the transport's own errors
        return " ".join(str(error).split()) or type(error).__name__
    return None


def workers_listening(*, timeout: float = 2.0) -> list[str]:
    """The workers that consume the daily run's queue and answered within `timeout`."""
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    replies = current_app.control.inspect(timeout=timeout).active_queues() or {}
    return sorted(
        worker
        for worker, queues in replies.items()
        if any(listened.get("name") == queue for listened in queues or ())
    )
