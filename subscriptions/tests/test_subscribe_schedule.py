"""The subscribe form's time zone (from the browser) and frequency: the schedule of the sign-up
that is confirmed, never of whoever posted the address first."""

import re
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse

from subscriptions.models import SubscribeEmail, Subscriber, Subscription
from subscriptions.tests import factories

SUBSCRIBE_URL = reverse("subscriptions:subscribe")

pytestmark = pytest.mark.django_db


def subscribe(client, email="new@example.org", **extra):
    data = {"email": email, "term": "happy", "homepage": "", **extra}
    return client.post(SUBSCRIBE_URL, data)


def schedule_of(email):
    subscriber = Subscriber.objects.get(inbox_key=email)
    return subscriber.time_zone, subscriber.frequency, subscriber.weekly_day


def confirm_link_in(message):
    """The confirmation link of one email, as the inbox's owner would click it."""
    match = re.search(r"https://funky\.example\.com(/subscriptions/confirm/\S+)", message.body)
    assert match, message.body
    return match.group(1)


class _ConfirmForm(HTMLParser):
    def __init__(self):
        super().__init__()
        self.action, self.fields = None, {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("method") == "post":
            self.action = attrs["action"]
        elif tag == "input" and attrs.get("name"):
            self.fields[attrs["name"]] = attrs.get("value") or ""


def confirm_as_a_browser(browser, link):
    """Open the link, then press the page's Confirm button (its form, as the page has it)."""
    page = browser.get(link)
    assert page.status_code == 200
    form = _ConfirmForm()
    form.feed(page.content.decode())
    response = browser.post(form.action, form.fields)
    assert "subscriptions/confirmed.html" in [t.name for t in response.templates]
    return response


def test_the_form_offers_daily_preselected_and_a_hidden_time_zone_for_the_script(client, settings):
    html = client.get(SUBSCRIBE_URL).content.decode()
    assert '<option value="daily" data-phrase="every day" selected>' in html
    assert '<option value="weekly" data-phrase="every week">' in html
    assert f'name="time_zone" value="{settings.TIME_ZONE}" data-time-zone' in html
    assert "<script>" not in html  # the zone is filled by static/js/site.js (CSP: no inline)


def test_a_new_subscriber_gets_the_browsers_zone_and_the_chosen_frequency_on_confirming(client):
    response = subscribe(client, time_zone="Asia/Tokyo", frequency="weekly", weekly_day="4")
    assert response.status_code == 200
    confirm_as_a_browser(Client(), confirm_link_in(mail.outbox[-1]))
    subscriber = Subscriber.objects.get(email="new@example.org")
    assert (subscriber.time_zone, subscriber.frequency, subscriber.weekly_day) == (
        "Asia/Tokyo",
        "weekly",
        4,
    )
    assert subscriber.send_hour == 7


@pytest.mark.parametrize("zone", ["", "Mars/Olympus", "x" * 64, "Europe/London\x00", "../etc"])
def test_a_missing_or_unknown_zone_is_the_sites_and_no_error(client, settings, zone):
    settings.TIME_ZONE = "Europe/Paris"
    assert subscribe(client, time_zone=zone).status_code == 200
    confirm_as_a_browser(Client(), confirm_link_in(mail.outbox[-1]))
    assert Subscriber.objects.get(email="new@example.org").time_zone == "Europe/Paris"


def test_without_the_new_fields_the_subscriber_gets_daily_in_the_sites_zone(client, settings):
    assert subscribe(client).status_code == 200
    confirm_as_a_browser(Client(), confirm_link_in(mail.outbox[-1]))
    subscriber = Subscriber.objects.get(email="new@example.org")
    assert (subscriber.time_zone, subscriber.frequency) == (settings.TIME_ZONE, "daily")


@pytest.mark.parametrize(
    "fields",
    [{"frequency": "hourly"}, {"frequency": "weekly", "weekly_day": "9"}],
    ids=["frequency", "weekday of a weekly email"],
)
def test_a_frequency_or_weekday_not_offered_is_a_clear_message_and_nothing_changes(client, fields):
    response = subscribe(client, **fields)
    assert response.status_code == 400
    assert "Please choose" in response.content.decode()
    assert not Subscription.objects.exists()


def test_the_public_form_never_changes_an_existing_subscribers_schedule(client):
    factories.subscription("known@example.org", term="jazz")
    Subscriber.objects.update(time_zone="Europe/London", frequency="daily")
    subscribe(client, email="known@example.org", time_zone="Asia/Tokyo", frequency="weekly")
    subscriber = Subscriber.objects.get(email="known@example.org")
    assert (subscriber.time_zone, subscriber.frequency) == ("Europe/London", "daily")


def button_and_heading(html):
    """The words of the subscribe form's button and heading."""
    form = html[html.index('<section class="subscribe"') :]
    button = re.search(r'<button type="submit"[^>]*>(.*?)</button>', form, re.S)[1]
    heading = re.search(r'<h2 id="subscribe-heading"[^>]*>(.*?)</h2>', html, re.S)[1]
    return words(button), words(heading)


def words(html):
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.mark.parametrize(
    "frequency, phrase",
    [("daily", "every day"), ("weekdays", "every weekday"), ("weekly", "every week")],
)
def test_the_form_says_how_often_as_chosen_when_it_comes_back_with_an_error(
    client, frequency, phrase
):
    response = subscribe(client, email="not an address", frequency=frequency, weekly_day="4")

    assert response.status_code == 400
    html = response.content.decode()
    button, heading = button_and_heading(html)
    assert button == f"Send me a playlist {phrase}"
    assert heading == f"Get a playlist for &lsquo;happy&rsquo; in your inbox {phrase}"
    assert f'<option value="{frequency}" data-phrase="{phrase}" selected>' in html


def test_a_fresh_form_says_every_day_and_offers_each_phrase_to_the_script(client):
    html = client.get(SUBSCRIBE_URL).content.decode()

    assert button_and_heading(html) == (
        "Send me a playlist every day",
        "Get a playlist for your mood in your inbox every day",
    )
    assert '<option value="weekdays" data-phrase="every weekday">' in html
    assert '<option value="weekly" data-phrase="every week">' in html


def test_without_script_the_weekday_is_there_to_choose(client):
    html = client.get(SUBSCRIBE_URL).content.decode()

    weekday = re.search(r'<p class="subscribe__field subscribe__weekday"[^>]*>', html)
    assert weekday and "hidden" not in weekday[0]
    assert '<select id="subscribe-weekly-day" name="weekly_day"' in html


@pytest.mark.parametrize("frequency", ["daily", "weekdays"])
@pytest.mark.parametrize("weekly_day", ["4", "9", "Friday"])
def test_the_weekday_is_ignored_unless_the_email_is_weekly(client, frequency, weekly_day):
    response = subscribe(client, frequency=frequency, weekly_day=weekly_day)

    assert response.status_code == 200
    assert Subscription.objects.get().status == "pending"
    confirm_as_a_browser(Client(), confirm_link_in(mail.outbox[-1]))
    subscriber = Subscriber.objects.get(email="new@example.org")
    assert (subscriber.frequency, subscriber.weekly_day) == (frequency, 0)


# -- whose schedule: the sign-up that is confirmed ---------------------------------------------

ATTACKER = {"time_zone": "Pacific/Kiritimati", "frequency": "weekly", "weekly_day": "4"}
OWNER = {"time_zone": "Europe/Paris", "frequency": "daily"}


@pytest.mark.parametrize("attacker_term", ["happy", "jazz"])
def test_the_owner_who_confirms_their_own_sign_up_gets_their_schedule(client, attacker_term):
    subscribe(client, email="victim@example.org", term=attacker_term, **ATTACKER)
    subscribe(client, email="victim@example.org", **OWNER)
    owners_email = mail.outbox[-1]
    # And the attacker again, after the owner: the last request must not decide either.
    subscribe(client, email="Victim@example.org", term=attacker_term, **ATTACKER)
    assert schedule_of("victim@example.org") == (settings.TIME_ZONE, "daily", 0)

    confirm_as_a_browser(Client(), confirm_link_in(owners_email))

    assert schedule_of("victim@example.org") == ("Europe/Paris", "daily", 0)


def test_no_sign_up_changes_a_verified_inboxs_schedule_confirmed_or_not(client):
    factories.subscription("known@example.org", term="jazz")
    Subscriber.objects.update(time_zone="Europe/London", frequency="daily")

    subscribe(client, email="known@example.org", term="calm", **ATTACKER)
    assert schedule_of("known@example.org") == ("Europe/London", "daily", 0)
    confirm_as_a_browser(Client(), confirm_link_in(mail.outbox[-1]))

    assert Subscription.objects.get(term="calm").status == Subscription.Status.ACTIVE
    assert schedule_of("known@example.org") == ("Europe/London", "daily", 0)


def test_a_schedule_chosen_on_the_schedule_page_outlives_an_earlier_sign_up(client):
    subscribe(client, email="new@example.org", **ATTACKER)
    link = confirm_link_in(mail.outbox[-1])
    subscriber = Subscriber.objects.get(inbox_key="new@example.org")
    page = reverse("subscriptions:schedule", kwargs={"token": subscriber.manage_token})
    chosen = {"time_zone": "Europe/Oslo", "send_hour": "9", "frequency": "weekdays"}
    assert client.post(page, {**chosen, "weekly_day": "0"}).status_code == 200

    confirm_as_a_browser(Client(), link)

    assert schedule_of("new@example.org") == ("Europe/Oslo", "weekdays", 0)


@pytest.mark.parametrize("sign_up", ["abc", "-1", "9" * 30, "{other}"])
def test_a_confirm_link_naming_another_or_no_sign_up_confirms_and_takes_no_schedule(
    client, sign_up
):
    subscribe(client, email="other@example.org", **ATTACKER)
    other = SubscribeEmail.objects.get(subscriber__inbox_key="other@example.org")
    subscribe(client, email="new@example.org")
    path = confirm_link_in(mail.outbox[-1]).split("?")[0]
    link = f"{path}?sign_up={sign_up.format(other=other.pk)}"

    response = Client().post(link, {"sign_up": sign_up.format(other=other.pk)})

    assert response.status_code == 200
    assert Subscription.objects.get(subscriber__inbox_key="new@example.org").status == "active"
    assert schedule_of("new@example.org") == (settings.TIME_ZONE, "daily", 0)
