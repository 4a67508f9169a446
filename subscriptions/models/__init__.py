"""Subscriptions to a daily playlist, what was sent, and what Mailgun told us about delivery.

One module per concern: `base` (shared helpers and choices), `people` (Subscriber,
Subscription), `delivery` (history, claims, events, limits, hashes), `runs` (the run's
records), `listening` (clicks and visits, goodbyes, when clicks were recorded). Everything
is imported here, so `from subscriptions.models import X` (and the
migrations' `subscriptions.models.new_token`) keep working.
"""

from .base import (  # noqa: F401
    DEFAULT_SEND_HOUR,
    INBOX_KEY_MAX_LENGTH,
    Frequency,
    Weekday,
    _with_inbox_key,
    confirmation_cutoff,
    default_time_zone,
    new_token,
    normalize_term,
    stored_address,
    validate_time_zone,
)
from .delivery import (  # noqa: F401
    DailyEmail,
    EmailEvent,
    SentPlaylist,
    SubscribeEmail,
    SuppressedInbox,
    WebhookSignature,
    inbox_digest,
)
from .listening import (  # noqa: F401
    Goodbye,
    ListeningEvent,
    ListeningPeriod,
)
from .people import (  # noqa: F401
    LIVE_STATUSES,
    Subscriber,
    SubscriberQuerySet,
    Subscription,
    SubscriptionQuerySet,
    SubscriptionStatus,
)
from .runs import (  # noqa: F401
    BreakerClearance,
    DailySearch,
    SendRun,
)
