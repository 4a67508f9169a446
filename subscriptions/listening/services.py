"""What listening writes: a click or visit with its verdict, "keep them coming", Mailgun's
delivery time, and the daily run's housekeeping (pruning, the recording period, the sunset)."""

import logging
from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from ..addresses import canonical_email
from ..models import DailyEmail, ListeningEvent, Subscriber
from . import links, rules, sunset
from .selectors import EmailFacts

logger = logging.getLogger(__name__)

Verdict = ListeningEvent.Verdict
# Clicks and visits are kept this long (README, "Listening and privacy"): enough for the
# SUNSET_AFTER_DAYS window and a year of the dashboard's comparisons, then pruned.
KEEP_DAYS = 400


def listening_record(
    *,
    subscriber_id: int,
    link: str,
    email: EmailFacts | None,
    sent_playlist_id: int | None = None,
    method: str = "GET",
    user_agent: str = "",
) -> ListeningEvent | None:
    """Record one request for a link of ours from an email, with its verdict (subscriptions.
    listening.rules); None when nothing was recorded (CLICK_RECORDING off, or the same link
    again within seconds)."""
    if not links.recording():
        return None
    now = timezone.now()
    verdict = rules.verdict_of(
        rules.Click(
            method=method,
            user_agent=user_agent,
            at=now,
            sent_at=email.sent_at if email else None,
            delivered_at=email.delivered_at if email else None,
        )
    )
    this = (link, sent_playlist_id)
    with transaction.atomic():
        recent = list(
            ListeningEvent.objects.filter(
                daily_email_id=email.daily_email_id if email else None,
                occurred_at__gte=now - rules.AT_ONCE,
            ).values_list("pk", "link", "sent_playlist_id", "occurred_at", "verdict")
            if email
            else []
        )
        if any((row[1], row[2]) == this and row[3] >= now - rules.SAME_CLICK for row in recent):
            return None
        opened = {(row[1], row[2]) for row in recent} | {this}
        if email and email.link_count > 1 and len(opened) >= email.link_count:
            verdict = Verdict.ALL_LINKS
            earlier = [pk for pk, *_, was in recent if was == Verdict.LISTENER]
            ListeningEvent.objects.filter(pk__in=earlier).update(verdict=Verdict.ALL_LINKS)
        return ListeningEvent.objects.create(
            subscriber_id=subscriber_id,
            daily_email_id=email.daily_email_id if email else None,
            sent_playlist_id=sent_playlist_id,
            link=link,
            verdict=verdict,
            occurred_at=now,
        )


def listening_keep(*, subscriber: Subscriber) -> None:
    """The person said "keep them coming" (the goodbye's page) or came back from a sunset (the
    manage page): mail them again, and count it as listening, which starts the clock anew."""
    with transaction.atomic():
        Subscriber.objects.filter(pk=subscriber.pk).update(sunset_at=None)
        subscriber.sunset_at = None
        if links.recording():
            ListeningEvent.objects.create(
                subscriber=subscriber, link=ListeningEvent.Link.KEPT, verdict=Verdict.LISTENER
            )


def delivery_record(*, recipient: str, day: date, delivered_at: datetime) -> bool:
    """Mailgun delivered `recipient`'s daily email of `day` at `delivered_at`: keep the time,
    and set apart the clicks that came before it or within seconds of it (scanners that the
    hand-over time alone did not give away). True when the email was ours."""
    claim = (
        DailyEmail.objects.filter(subscriber__inbox_key=canonical_email(recipient), day=day)
        .only("pk", "delivered_at")
        .first()
    )
    if claim is None:
        return False
    if claim.delivered_at is None:
        DailyEmail.objects.filter(pk=claim.pk, delivered_at=None).update(delivered_at=delivered_at)
    ListeningEvent.objects.filter(
        daily_email=claim,
        verdict=Verdict.LISTENER,
        occurred_at__lt=delivered_at + rules.TOO_SOON,
    ).update(verdict=Verdict.TOO_SOON)
    return True


def listening_housekeeping(*, now: datetime | None = None) -> None:
    """The daily run's share: prune what is older than KEEP_DAYS, open or close the period of
    click recording, and pause those who never answered their goodbye."""
    now = now or timezone.now()
    pruned, _ = ListeningEvent.objects.filter(
        occurred_at__lt=now - timedelta(days=KEEP_DAYS)
    ).delete()
    sunset.period_track(now=now)
    paused = sunset.subscribers_sunset(now=now)
    if pruned or paused:
        logger.info(
            "Listening: pruned %d clicks older than %d days; paused %d silent subscribers.",
            pruned,
            KEEP_DAYS,
            paused,
        )
