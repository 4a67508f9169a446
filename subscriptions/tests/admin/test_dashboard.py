"""The admin's list-health dashboard: staff only, the right figures, constant queries."""

import datetime
import re

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from subscriptions.admin import figures as dashboard
from subscriptions.delivery import events
from subscriptions.models import (
    BreakerClearance,
    DailyEmail,
    EmailEvent,
    SendRun,
    Subscriber,
    Subscription,
)
from subscriptions.tests.mailgun_signing import SIGNING_KEY, post, sample, signed

pytestmark = pytest.mark.django_db

URL = "/admin/dashboard/"


def at(day, hour=12):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def claims(day, status, count, *, prefix="x"):
    subscribers = Subscriber.objects.bulk_create(
        Subscriber(email=f"{prefix}{n}@example.org", inbox_key=f"{prefix}{n}@example.org")
        for n in range(count)
    )
    DailyEmail.objects.bulk_create(
        DailyEmail(subscriber=subscriber, day=day, status=status) for subscriber in subscribers
    )


def event(day, event_type, n):
    EmailEvent.objects.create(
        recipient=f"e{n}@example.org",
        event_type=event_type,
        event_id=f"{event_type}-{day}-{n}",
        occurred_at=at(day),
    )


def a_month_of_activity(today, *, per_day, tag="a"):
    """`per_day` of everything on each of the last 30 days."""
    for back in range(30):
        day = today - datetime.timedelta(days=back)
        claims(day, DailyEmail.Status.SENT, per_day, prefix=f"{tag}s{back}-")
        claims(day, DailyEmail.Status.FAILED, 1, prefix=f"{tag}f{back}-")
        for n in range(per_day):
            Subscription.objects.create(
                subscriber=Subscriber.for_address(f"{tag}new{back}-{n}@example.org"),
                term=f"mood {n % 7}",
                status=Subscription.Status.ACTIVE,
                confirmed_at=at(day),
            )
        event(day, EmailEvent.Type.BOUNCED, f"{tag}{back}")


def test_staff_only(client, admin_client):
    assert admin_client.get(URL).status_code == 200
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    User.objects.create_user("reader", password="pw-reader-123")  # a user, not staff
    reader = Client()
    reader.login(username="reader", password="pw-reader-123")
    assert reader.get(URL).status_code == 302


def test_the_admin_index_links_the_dashboard(admin_client):
    page = admin_client.get(reverse("admin:index")).content.decode()
    assert f'href="{URL}"' in page


def test_figures_per_day(db):
    today = timezone.localdate()
    yesterday = today - datetime.timedelta(days=1)
    claims(yesterday, DailyEmail.Status.SENT, 500)
    claims(yesterday, DailyEmail.Status.FAILED, 3, prefix="f")
    claims(yesterday, DailyEmail.Status.UNKNOWN, 2, prefix="u")
    claims(today - datetime.timedelta(days=40), DailyEmail.Status.SENT, 9, prefix="old")
    for n in range(4):
        event(yesterday, EmailEvent.Type.BOUNCED, n)
    event(yesterday, EmailEvent.Type.COMPLAINED, 9)
    # Two moods of one inbox confirmed on one day are one new subscriber.
    for term in ("jazz", "rain"):
        Subscription.objects.create(
            subscriber=Subscriber.for_address("Ann@example.org"),
            term=term,
            status="active",
            confirmed_at=at(yesterday),
        )
    Subscription.objects.create(
        subscriber=Subscriber.for_address("bo@example.org"), term="jazz", status="pending"
    )

    board = dashboard.dashboard(today=today)

    assert len(board.days) == 30
    assert board.days[-1].day == today
    day = board.days[-2]
    assert (day.day, day.sent, day.failed, day.unknown) == (yesterday, 500, 3, 2)
    assert (day.bounced, day.complained, day.confirmed) == (4, 1, 1)
    assert day.complaint_rate == pytest.approx(0.002)
    assert day.bounce_rate == pytest.approx(0.008)
    assert board.totals.sent == 500  # the 40-day-old ones are outside the 30 days
    assert board.pending == 1
    assert board.top_moods == [("jazz", 1), ("rain", 1)]


def test_unsubscribes_are_counted_by_how_they_came(client, admin_client, make_subscription):
    rows = {
        way: make_subscription(email=f"{way}@example.org", term="jazz")
        for way in ("link", "one_click", "staff", "provider")
    }
    client.post(
        reverse("subscriptions:unsubscribe", kwargs={"token": rows["link"].token}),
        {"scope": "this"},
    )
    client.post(
        reverse("subscriptions:unsubscribe", kwargs={"token": rows["one_click"].token}),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    admin_client.post(
        reverse("admin:subscriptions_subscription_changelist"),
        {"action": "unsubscribe", "_selected_action": [rows["staff"].pk]},
    )
    events.email_event_record(
        email="provider@example.org",
        event_type=EmailEvent.Type.UNSUBSCRIBED,
        event_id="mailgun-unsub-1",
        occurred_at=timezone.now(),
    )

    today = dashboard.dashboard().days[-1]

    assert today.unsubscribed == {"link": 1, "one_click": 1, "staff": 1, "provider": 1}
    assert today.unsubscribed_total == 4


def test_a_mailgun_unsubscribe_webhook_counts_as_the_provider(settings, make_subscription):
    settings.ANYMAIL = {**settings.ANYMAIL, "MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY}
    payload = sample("unsubscribed")
    make_subscription(email=payload["event-data"]["recipient"], term="jazz")
    assert post(signed(payload)).status_code == 200

    assert dashboard.dashboard().days[-1].unsubscribed == {"provider": 1}


def test_the_page_draws_the_charts_and_the_tables(admin_client):
    today = timezone.localdate()
    a_month_of_activity(today, per_day=2)
    SendRun.objects.create(
        day=today,
        outcome=SendRun.Outcome.SENT,
        exit_status=0,
        emails=2,
        summary="sent 2 emails (2 playlists) in 1 batches; …",
        finished_at=timezone.now(),
        seconds=1.5,
    )

    page = admin_client.get(URL).content.decode()

    # Five of the list's health, two of listening (test_listening_dashboard.py).
    assert page.count('<svg viewBox="0 0 640 200" role="img"') == 7
    assert "0.1 % (Google asks for under this)" in page
    assert "0.3 % (providers throttle here)" in page
    assert "sent 2 emails (2 playlists) in 1 batches" in page  # the last run's summary
    assert re.search(r"<dt>Emails sent \(30 days\)</dt><dd>60</dd>", page)
    assert "mood 0" in page  # the moods table
    assert "style=" not in page.split('id="content-main"')[1]  # within the CSP: no inline style


def test_queries_do_not_grow_with_the_list(admin_client):
    today = timezone.localdate()
    a_month_of_activity(today, per_day=1)
    admin_client.get(URL)  # warm the session and content types
    with CaptureQueriesContext(connection) as small:
        assert admin_client.get(URL).status_code == 200
    a_month_of_activity(today, per_day=12, tag="b")
    for _ in range(15):
        SendRun.objects.create(day=today, outcome=SendRun.Outcome.SENT, exit_status=0)
    with CaptureQueriesContext(connection) as large:
        assert admin_client.get(URL).status_code == 200
    assert len(large) == len(small)


def test_a_tripped_breaker_shows_a_banner_and_staff_can_clear_it(admin_user):
    today = timezone.localdate()
    claims(today - datetime.timedelta(days=1), DailyEmail.Status.SENT, 100)
    event(today - datetime.timedelta(days=1), EmailEvent.Type.COMPLAINED, 1)
    staff = Client(enforce_csrf_checks=True)
    staff.force_login(admin_user)

    page = staff.get(URL).content.decode()
    assert "The complaint breaker is on" in page
    assert "1 complaints for 100 emails" in page
    assert "<dd>1.00% (1/100)</dd>" in page

    clear_url = reverse("admin-breaker-clear")
    assert staff.post(clear_url).status_code == 403  # no CSRF token
    assert staff.get(clear_url).status_code == 405  # GET never changes anything
    assert not BreakerClearance.objects.exists()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = staff.post(clear_url, {"csrfmiddlewaretoken": token}, follow=True)

    assert response.status_code == 200
    clearance = BreakerClearance.objects.get()
    assert (clearance.day, clearance.staff_user) == (today, admin_user)
    assert clearance.complaint_rate == pytest.approx(0.01)
    page = response.content.decode()
    assert "The complaint breaker is on" not in page
    assert "but admin cleared it for" in page


def test_staff_without_the_permission_cannot_clear_the_breaker(db):
    clerk = User.objects.create_user("clerk", password="pw-clerk-123", is_staff=True)
    staff = Client()
    staff.force_login(clerk)
    assert staff.post(reverse("admin-breaker-clear")).status_code == 403
    assert not BreakerClearance.objects.exists()


def test_the_runs_are_listed_in_the_admin(admin_client):
    SendRun.objects.create(day=timezone.localdate(), outcome=SendRun.Outcome.BREAKER, exit_status=3)
    page = admin_client.get(reverse("admin:subscriptions_sendrun_changelist")).content.decode()
    assert "Stopped by the complaint breaker" in page
