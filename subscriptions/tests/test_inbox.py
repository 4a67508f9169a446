"""One inbox is one address: the limits and the suppression hold for every spelling of it.

Issue 10 found quoted local parts and +tags each counting as a new address: one inbox got
seven confirmations past the per-address limit, and a complained `victim@` still got mail as
`"victim"@` or `victim+x@`. Quoted spellings can no longer be typed (test_forms), but old rows
may carry them, and webhooks may report any spelling.
"""

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from subscriptions import selectors, services
from subscriptions.addresses import canonical_email, plain_address
from subscriptions.delivery import events
from subscriptions.models import EmailEvent, Subscriber, Subscription
from subscriptions.tests import factories

Status = Subscription.Status
SUBSCRIBE_URL = reverse("subscriptions:subscribe")

pytestmark = pytest.mark.django_db


def subscribe(email, term="happy", *, ip="203.0.113.1"):
    return Client(REMOTE_ADDR=ip).post(
        SUBSCRIBE_URL, {"email": email, "term": term, "homepage": ""}
    )


def complaint(email, event_id="complaint-1"):
    events.email_event_record(
        email=email,
        event_type=EmailEvent.Type.COMPLAINED,
        event_id=event_id,
        occurred_at=timezone.now(),
    )


def old_row(email, **fields):
    """A row as the old form stored it: the address exactly as typed, quotes and all."""
    fields.setdefault("status", Status.ACTIVE)
    subscriber = Subscriber.for_address(email)
    return Subscription.objects.create(
        subscriber=subscriber, term=fields.pop("term", "happy"), **fields
    )


# -- the per-address limit -------------------------------------------------------------------


def test_case_and_tags_count_towards_one_inbox_limit(settings):
    settings.SUBSCRIBE_ATTEMPTS_PER_ADDRESS_PER_DAY = 3
    spellings = ["a@example.com", "A@Example.com", "a+1@example.com", "a+2@EXAMPLE.com"]
    statuses = [
        subscribe(email, term=f"term {n}", ip=f"203.0.113.{n}").status_code
        for n, email in enumerate(spellings)
    ]
    assert statuses == [200, 200, 200, 429]
    assert len(mail.outbox) == 3


def test_the_inbox_limit_counts_every_term():
    for number in range(3):
        assert subscribe("a@example.com", term=f"term {number}").status_code == 200
    assert subscribe("a+x@example.com", term="another term").status_code == 429
    assert len(mail.outbox) == 3


def test_the_limit_answers_alike_for_a_complained_inbox(settings):
    # The withheld stand-ins count like emails: the 429 comes on the same attempt as for
    # anyone else, so the limit does not tell which addresses complained.
    settings.SUBSCRIBE_ATTEMPTS_PER_ADDRESS_PER_DAY = 2
    complaint("victim@x.com")
    statuses = {
        email: [subscribe(email, ip=f"203.0.113.{n}").status_code for n in range(3)]
        for email in ("victim@x.com", "someone@x.com")
    }
    assert statuses["victim@x.com"] == statuses["someone@x.com"] == [200, 200, 429]


# -- suppression -----------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["Victim@x.com", "victim+x@x.com", "VICTIM+news@X.COM"])
def test_a_complained_inbox_gets_no_mail_under_any_spelling(spelling):
    complaint("victim@x.com")
    genuine = subscribe("someone@x.com", ip="203.0.113.9")
    mail.outbox.clear()

    response = subscribe(spelling)

    assert response.status_code == genuine.status_code == 200
    page = response.content.decode().replace(plain_address(spelling), "X")
    assert page == genuine.content.decode().replace("someone@x.com", "X")
    assert mail.outbox == []
    assert not Subscription.objects.filter(subscriber__inbox_key="victim@x.com").exists()


def test_a_complaint_stops_every_spelling_of_the_inbox_old_quoted_rows_too():
    rows = [
        old_row('"victim"@x.com', term="happy"),
        old_row("Victim+news@x.com", term="sad"),
        old_row("VICTIM@X.com", term="calm", status=Status.PENDING),
        old_row("someone@x.com"),
    ]

    complaint("victim@x.com")

    states = [Subscription.objects.get(pk=row.pk).subscriber.state for row in rows]
    assert states == ["complained", "complained", "complained", "active"]
    assert len({row.subscriber_id for row in rows[:3]}) == 1  # one inbox, one subscriber


def test_a_complaint_reported_for_a_quoted_spelling_suppresses_the_plain_one():
    complaint('"Victim+x"@x.com')
    subscribe("victim@x.com")
    assert mail.outbox == []


def test_an_old_complained_quoted_row_suppresses_the_plain_address():
    old_row('"victim"@x.com')
    factories.subscriber('"victim"@x.com', state="complained")
    response = subscribe("victim@x.com", term="brand new term")
    assert response.status_code == 200
    assert mail.outbox == []
    assert not Subscription.objects.filter(term="brand new term").exists()


def test_a_bounce_stops_every_spelling_of_the_inbox():
    rows = [old_row("Listener@x.com"), old_row("listener+news@x.com", term="sad")]
    events.email_event_record(
        email="listener@x.com",
        event_type=EmailEvent.Type.BOUNCED,
        event_id="bounce-1",
        occurred_at=timezone.now(),
    )
    assert {Subscription.objects.get(pk=row.pk).subscriber.state for row in rows} == {"bounced"}


def test_unsubscribe_all_stops_the_moods_signed_up_under_every_spelling():
    rows = [old_row("Listener@x.com"), old_row('"listener"@x.com', term="sad")]
    services.subscriber_unsubscribe_all(subscriber=rows[0].subscriber, via=Subscription.Via.LINK)
    assert {Subscription.objects.get(pk=row.pk).status for row in rows} == {Status.UNSUBSCRIBED}


def test_an_event_for_one_spelling_belongs_to_the_inbox_every_spelling_reaches():
    complaint("Victim+list@X.com")
    subscriber = Subscriber.objects.get(inbox_key=canonical_email('"victim"@x.com'))
    assert [event.event_id for event in subscriber.email_events.all()] == ["complaint-1"]


def test_the_admin_list_shows_an_inbox_event_on_every_spelling(make_subscription):
    row = make_subscription(email="Victim+news@x.com")
    complaint("victim@x.com", event_id="c-1")
    [annotated] = selectors.with_delivery_summary(Subscription.objects.filter(pk=row.pk))
    assert annotated.last_event_type == EmailEvent.Type.COMPLAINED


# -- one live subscription per (inbox, term) -------------------------------------------------


@pytest.mark.parametrize("second", ["listener+news@example.com", '"Listener"@EXAMPLE.com'])
def test_one_live_subscription_per_inbox_and_term_whatever_the_spelling(second):
    old_row("Listener@example.com", term="Happy")
    with pytest.raises(IntegrityError), transaction.atomic():
        old_row(second, term="happy", status=Status.PENDING)


def test_subscribing_another_spelling_of_an_active_inbox_is_already_subscribed():
    active = old_row("Listener@example.com")
    subscribe("listener+news@example.com")
    [message] = mail.outbox
    assert message.subject == "You already get a daily playlist for 'happy'"
    assert message.to == ["Listener@example.com"]  # the address that confirmed
    assert Subscription.objects.get() == active


def test_bulk_created_subscribers_get_their_key():
    Subscriber.objects.bulk_create([Subscriber(email="Bulk+x@Example.com")])
    assert Subscriber.objects.get().inbox_key == "bulk@example.com"
