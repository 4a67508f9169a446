"""The goodbye: "Still want your daily playlists?", sent in place of a day's playlists to those
subscriptions.listening.sunset says have stopped listening.

Its layout is rendered once a run, with Mailgun's `%recipient.KEY%` placeholders like the daily
email's, and goes as a call of its own (sending.Mailer.send groups a batch's messages by layout).
Marking its claim in flight records it as asked (`goodbyes_hold`).
"""

from collections.abc import Callable, Iterable
from datetime import date
from types import SimpleNamespace

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from ..emails import subject_render
from ..links import absolute_url, manage_url, unsubscribe_url
from ..listening import sunset
from .composing import TOKEN_MARK, DailyLayout, DailyMessage

TEMPLATES = "subscriptions/email/sunset"
GOODBYE = "goodbye"  # the goodbye's DailyLayout.kind


class Goodbyes:
    """The goodbye email of a run (its layout rendered once, on first use) and who gets it."""

    def __init__(self, *, day: date, from_email: Callable[[str], str] = str):
        self.day = day
        self.from_email = from_email  # the composer's: no marker in a preview
        self._layout: DailyLayout | None = None

    def due(self, subscriber_ids: Iterable[int]) -> set[int]:
        return sunset.goodbyes_due(subscriber_ids=subscriber_ids, now=timezone.now())

    @property
    def layout(self) -> DailyLayout:
        if self._layout is None:
            self._layout = self._render()
        return self._layout

    def _render(self) -> DailyLayout:
        manage = manage_url(SimpleNamespace(manage_token=TOKEN_MARK))
        unsubscribe = unsubscribe_url(SimpleNamespace(token=TOKEN_MARK))
        context = {
            "site_url": settings.SITE_URL,
            "quiet_days": settings.SUNSET_AFTER_DAYS,
            "answer_days": sunset.ANSWER_DAYS,
            "keep_url": "%recipient.keep_url%",
            "manage_url": self.from_email(manage.replace(TOKEN_MARK, "%recipient.manage_token%")),
            "unsubscribe_all_url": unsubscribe.replace(TOKEN_MARK, "%recipient.token%"),
        }
        return DailyLayout(
            subject=subject_render(f"{TEMPLATES}_subject.txt", context),
            text=render_to_string(f"{TEMPLATES}.txt", context),
            html=render_to_string(f"{TEMPLATES}.html", context),
            kind=GOODBYE,
        )

    def message(
        self, *, subscriber_id: int, address: str, manage_token: str, token: str
    ) -> DailyMessage:
        """The goodbye for one address; `token` is one of its live subscriptions' (the
        one-click List-Unsubscribe stops them all, as the daily email's does)."""
        keep = absolute_url(reverse("subscriptions:keep", kwargs={"token": manage_token}))
        return DailyMessage(
            address=address,
            subscriber_id=subscriber_id,
            picks=[],
            variables={"keep_url": keep, "manage_token": manage_token, "token": token},
            list_unsubscribe_url=unsubscribe_url(SimpleNamespace(token=token)),
            layout=self.layout,
        )


def goodbyes_hold(messages: Iterable[DailyMessage]) -> None:
    """Record the goodbyes among a batch's messages as its claims are marked in flight."""
    sunset.goodbyes_record(
        (message.subscriber_id, message.claim_id)
        for message in messages
        if message.layout is not None and message.layout.kind == GOODBYE and message.claim_id
    )
