"""The admin: lists, filters, search, actions, read-only history, and a constant query count."""

import datetime

import pytest
from django.contrib.auth.models import Permission, User
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from subscriptions import services
from subscriptions.delivery import events
from subscriptions.models import EmailEvent, SentPlaylist, Subscriber, Subscription
from subscriptions.tests import factories

Status = Subscription.Status
CHANGELIST = reverse("admin:subscriptions_subscription_changelist")
SENT_CHANGELIST = reverse("admin:subscriptions_sentplaylist_changelist")
# The sent-playlists inline's management form, which every change form post carries.
INLINE_MANAGEMENT = {
    "sent_playlists-TOTAL_FORMS": "0",
    "sent_playlists-INITIAL_FORMS": "0",
    "sent_playlists-MIN_NUM_FORMS": "0",
    "sent_playlists-MAX_NUM_FORMS": "0",
}

pytestmark = pytest.mark.django_db


def state_of(address):
    return Subscriber.objects.get(inbox_key=address).state


@pytest.fixture
def staff_client():
    """A staff member (not a superuser) with the permissions the admin pages need."""
    # No password: force_login needs none, and hashing one costs a second per test.
    user = User.objects.create_user("editor", "editor@example.com", is_staff=True)
    codenames = [
        f"{action}_{model}"
        for action in ("view", "change")
        for model in ("subscription", "sentplaylist", "emailevent", "dailyemail")
    ]
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


def sent(subscription, number, *, sent_on=None):
    return SentPlaylist.objects.create(
        subscription=subscription,
        playlist_id=f"playlist{number:04d}",
        name=f"Playlist number {number}",
        web_url=f"https://open.spotify.com/playlist/playlist{number:04d}",
        uri=f"spotify:playlist:playlist{number:04d}",
        sent_on=sent_on or datetime.date(2025, 1, 1) + datetime.timedelta(days=number),
    )


def event(email, event_type, reason="", *, minutes_ago=0, event_id=None):
    return EmailEvent.objects.create(
        recipient=email,
        event_type=event_type,
        event_id=event_id or f"{email}-{event_type}-{minutes_ago}",
        occurred_at=timezone.now() - datetime.timedelta(minutes=minutes_ago),
        reason=reason,
    )


def action(client, name, subscriptions):
    return client.post(
        CHANGELIST,
        {"action": name, "_selected_action": [s.pk for s in subscriptions]},
        follow=True,
    )


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


def test_anonymous_visitor_is_sent_to_the_login_page(client):
    for url in (CHANGELIST, SENT_CHANGELIST):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


def test_list_shows_counts_dates_and_the_last_delivery_event(staff_client, make_subscription):
    subscription = make_subscription(email="listener@example.com", term="happy")
    for number in range(3):
        sent(subscription, number)
    event("listener@example.com", "bounced", "old news", minutes_ago=60)
    event("listener@example.com", "complained", "marked as spam", minutes_ago=1)

    response = staff_client.get(CHANGELIST)

    assert response.status_code == 200
    html = response.content.decode()
    for column in ("Email address", "Search term", "Status", "Created", "Confirmed", "Last sent"):
        assert column in html
    assert '<td class="field-playlists_sent">3</td>' in html
    assert "Complained: marked as spam" in html
    assert "old news" not in html


def test_filters_by_status_suppression_and_date(staff_client, make_subscription):
    make_subscription(email="active@example.com")
    make_subscription(email="bounced@example.com", status="bounced")
    make_subscription(email="complained@example.com", status="complained")
    old = make_subscription(email="old@example.com", status=Status.UNSUBSCRIBED)
    Subscription.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=400)
    )

    def emails(**params):
        response = staff_client.get(CHANGELIST, params)
        assert response.status_code == 200
        return {s.subscriber.email for s in response.context["cl"].result_list}

    # Suppression is the subscriber's; their subscriptions stay active.
    active = {"active@example.com", "bounced@example.com", "complained@example.com"}
    assert emails(status__exact="active") == active
    assert emails(suppressed="yes") == {"bounced@example.com", "complained@example.com"}
    assert emails(suppressed="no") == {"active@example.com", "old@example.com"}
    since = (timezone.now() - datetime.timedelta(days=7)).isoformat()
    assert "old@example.com" not in emails(created_at__gte=since)


def test_search_by_email_and_term(staff_client, make_subscription):
    make_subscription(email="alice@example.com", term="rainy sunday")
    make_subscription(email="bob@example.com", term="happy")

    def found(query):
        response = staff_client.get(CHANGELIST, {"q": query})
        return {s.subscriber.email for s in response.context["cl"].result_list}

    assert found("alice@") == {"alice@example.com"}
    assert found("rainy") == {"alice@example.com"}


def test_list_page_query_count_does_not_grow_with_rows(staff_client, make_subscription):
    def make_rows(start, count):
        for number in range(start, start + count):
            email = f"person{number}@example.com"
            subscription = make_subscription(email=email, term=f"term {number}")
            sent(subscription, number)
            sent(subscription, number + 1000)
            event(email, "bounced", "mailbox full", event_id=f"event-{number}")

    def queries_for_list():
        with CaptureQueriesContext(connection) as queries:
            response = staff_client.get(CHANGELIST)
        assert response.status_code == 200
        return len(queries), len(response.context["cl"].result_list)

    make_rows(0, 5)
    with_five, rows = queries_for_list()
    assert rows == 5
    make_rows(5, 45)
    with_fifty, rows = queries_for_list()
    assert rows == 50
    assert with_fifty == with_five


def test_sent_playlists_list_query_count_does_not_grow_with_rows(staff_client, make_subscription):
    def make_rows(start, count):
        for number in range(start, start + count):
            sent(make_subscription(email=f"person{number}@example.com"), number)

    def queries_for_list():
        with CaptureQueriesContext(connection) as queries:
            response = staff_client.get(SENT_CHANGELIST)
        assert response.status_code == 200
        html = response.content.decode()
        return len(queries), html.count("@example.com</td>")

    make_rows(0, 3)
    with_three, rows = queries_for_list()
    assert rows == 3
    make_rows(3, 17)
    with_twenty, rows = queries_for_list()
    assert rows == 20
    assert with_twenty == with_three


def test_change_page_shows_token_read_only_recent_playlists_and_events(
    staff_client, make_subscription
):
    subscription = make_subscription(email="Listener@example.com", term="happy")
    for number in range(12):
        sent(subscription, number)
    event("listener@example.com", "bounced", "550 no such user")

    response = staff_client.get(
        reverse("admin:subscriptions_subscription_change", args=[subscription.pk])
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert subscription.token in html
    assert 'name="token"' not in html  # shown, not editable
    # The inline holds the ten most recent of the twelve.
    assert "Playlist number 11" in html
    assert "Playlist number 2<" in html
    assert "Playlist number 1<" not in html
    assert 'href="https://open.spotify.com/playlist/playlist0011"' in html
    assert "All 12 sent playlists" in html
    assert "Bounced" in html and "550 no such user" in html


def test_unsubscribe_action(staff_client, make_subscription):
    live = [make_subscription(email=f"p{n}@example.com") for n in range(2)]
    ended = make_subscription(email="gone@example.com", status=Status.UNSUBSCRIBED)

    response = action(staff_client, "unsubscribe", [*live, ended])

    assert "Unsubscribed 2 subscription(s)." in messages_of(response)
    assert set(Subscription.objects.values_list("status", flat=True)) == {Status.UNSUBSCRIBED}


def test_resend_confirmation_action(staff_client, make_subscription):
    pending = make_subscription(email="pending@example.com", status=Status.PENDING)
    active = make_subscription(email="active@example.com")

    response = action(staff_client, "resend_confirmation", [pending, active])

    [message] = mail.outbox
    assert message.to == ["pending@example.com"]
    assert pending.token in message.body
    assert messages_of(response) == [
        "Sent 1 confirmation email(s).",
        "Skipped 1 subscription(s) that are not pending confirmation.",
    ]


def test_resend_confirmation_action_reports_a_mail_failure(
    staff_client, make_subscription, closed_port_mailgun
):
    pending = make_subscription(email="pending@example.com", status=Status.PENDING)
    response = action(staff_client, "resend_confirmation", [pending])
    assert "1 confirmation email(s) could not be sent; try again later." in messages_of(response)


def test_mark_active_action(staff_client, make_subscription):
    pending = make_subscription(email="a@example.com", status=Status.PENDING)
    ended = make_subscription(
        email="b@example.com", status=Status.UNSUBSCRIBED, unsubscribed_at=timezone.now()
    )
    # An old row whose pair already has a live subscription: activating it would make two.
    make_subscription(email="c@example.com", term="happy")
    duplicate = make_subscription(email="C@example.com", term="Happy", status=Status.UNSUBSCRIBED)

    response = action(staff_client, "mark_active", [pending, ended, duplicate])

    assert messages_of(response) == [
        "Marked 2 subscription(s) active.",
        "Left 1 subscription(s) alone: the same address and term already has a live subscription.",
    ]
    pending.refresh_from_db()
    ended.refresh_from_db()
    duplicate.refresh_from_db()
    assert pending.status == ended.status == Status.ACTIVE
    assert pending.confirmed_at is not None
    assert ended.unsubscribed_at is None
    assert duplicate.status == Status.UNSUBSCRIBED


def test_sent_playlist_history_is_read_only_searchable_and_links_to_spotify(
    staff_client, make_subscription
):
    alice = make_subscription(email="alice@example.com")
    bob = make_subscription(email="bob@example.com", term="sad")
    sent(alice, 1)
    sent(bob, 2)

    response = staff_client.get(SENT_CHANGELIST)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'href="https://open.spotify.com/playlist/playlist0001"' in html
    assert "Open on Spotify" in html

    def found(**params):
        listed = staff_client.get(SENT_CHANGELIST, params).context["cl"].result_list
        return {row.name for row in listed}

    assert found(q="alice@") == {"Playlist number 1"}
    assert found(q="number 2") == {"Playlist number 2"}
    assert found(sent_on__year="2025", sent_on__month="1", sent_on__day="3") == {
        "Playlist number 2"
    }
    add = staff_client.get(reverse("admin:subscriptions_sentplaylist_add"))
    assert add.status_code == 403


def test_email_events_and_daily_emails_are_listed_read_only(staff_client):
    event("listener@example.com", "complained", "marked as spam")
    events = staff_client.get(reverse("admin:subscriptions_emailevent_changelist"))
    assert events.status_code == 200
    assert "marked as spam" in events.content.decode()
    assert staff_client.get(reverse("admin:subscriptions_emailevent_add")).status_code == 403
    daily = staff_client.get(reverse("admin:subscriptions_dailyemail_changelist"))
    assert daily.status_code == 200


def test_editing_a_row_into_a_second_live_subscription_is_a_form_error(
    staff_client, make_subscription
):
    make_subscription(email="listener@example.com", term="happy")
    ended = make_subscription(email="listener@example.com", term="HAPPY", status="unsubscribed")
    url = reverse("admin:subscriptions_subscription_change", args=[ended.pk])

    response = staff_client.post(
        url,
        {
            "email": ended.subscriber.email,
            "term": ended.term,
            "status": "active",
            **INLINE_MANAGEMENT,
        },
    )

    assert response.status_code == 200  # the form again, not a server error
    assert "This address already has a pending or active subscription for this term." in (
        response.content.decode()
    )
    ended.refresh_from_db()
    assert ended.status == Status.UNSUBSCRIBED


# -- undoing a wrong suppression -------------------------------------------------------------


@pytest.fixture
def wrongly_suppressed(make_subscription):
    """An address a forged complaint silenced (its subscriber complained; its rows say what
    the person chose: two active, one ended), the complaint on record; a bounced bystander
    with an ended row, who must stay as it is."""
    rows = [
        make_subscription(email="Victim@example.org", term="happy", status="complained"),
        make_subscription(email="victim@example.org", term="sad", status="complained"),
        make_subscription(email="victim@example.org", term="jazz", status=Status.UNSUBSCRIBED),
    ]
    event("victim@example.org", "complained", "forged", event_id="forged-complaint")
    make_subscription(email="bounced@example.org", status=Status.UNSUBSCRIBED)
    factories.subscriber("bounced@example.org", state="bounced")
    return rows


def subscribe(email, term):
    return Client().post(
        reverse("subscriptions:subscribe"), {"email": email, "term": term, "homepage": ""}
    )


def test_clearing_a_complaint_ends_its_suppression_and_records_who_did_it(
    staff_client, wrongly_suppressed
):
    assert subscribe("victim@example.org", "before clearing").status_code == 200
    assert mail.outbox == []  # refused, quietly

    response = action(staff_client, "clear_suppression", wrongly_suppressed[:1])

    assert messages_of(response) == [
        "Cleared the bounce/complaint of 1 address(es): their active subscriptions resume "
        "with the next daily email. Remove them from Mailgun's suppression lists too, or "
        "Mailgun will not deliver to them."
    ]
    assert state_of("victim@example.org") == Subscriber.State.ACTIVE
    # What the person had chosen is what resumes.
    statuses = [Subscription.objects.get(pk=row.pk).status for row in wrongly_suppressed]
    assert statuses == [Status.ACTIVE, Status.ACTIVE, Status.UNSUBSCRIBED]
    assert state_of("bounced@example.org") == "bounced"
    cleared = EmailEvent.objects.get(event_type=EmailEvent.Type.SUPPRESSION_CLEARED)
    assert cleared.recipient == "victim@example.org"
    assert cleared.staff_user.username == "editor"
    assert cleared.staff_name == "editor"
    assert cleared.reason == "Cleared by staff"  # the person's data download shows it
    assert timezone.now() - cleared.occurred_at < datetime.timedelta(minutes=1)
    # The history keeps the complaint; the events list shows both, with who cleared it.
    events_page = staff_client.get(reverse("admin:subscriptions_emailevent_changelist"))
    assert "Bounce/complaint cleared by staff" in events_page.content.decode()
    assert EmailEvent.objects.filter(event_id="forged-complaint").exists()

    assert subscribe("victim@example.org", "after clearing").status_code == 200
    [confirmation] = mail.outbox
    assert confirmation.to == ["Victim@example.org"]  # the subscriber's, as first typed


def test_clearing_a_bounce_lets_mark_active_resume_the_mail(staff_client, make_subscription):
    bounced = make_subscription(email="typo@example.org", status=Status.UNSUBSCRIBED)
    factories.subscriber("typo@example.org", state="bounced")

    action(staff_client, "mark_active", [bounced])
    bounced.refresh_from_db()
    assert bounced.status == Status.UNSUBSCRIBED

    action(staff_client, "clear_suppression", [bounced])
    response = action(staff_client, "mark_active", [bounced])

    assert messages_of(response) == ["Marked 1 subscription(s) active."]
    bounced.refresh_from_db()
    assert (bounced.status, state_of("typo@example.org")) == (Status.ACTIVE, "active")


def test_clearing_an_address_with_nothing_to_clear_says_so(staff_client, make_subscription):
    fine = make_subscription(email="fine@example.org")

    response = action(staff_client, "clear_suppression", [fine])

    assert messages_of(response) == ["1 address(es) had no bounce or complaint to clear."]
    assert not EmailEvent.objects.exists()
    fine.refresh_from_db()
    assert fine.status == Status.ACTIVE


def test_mark_active_never_revives_a_suppressed_address(staff_client, wrongly_suppressed):
    bounced = Subscription.objects.get(subscriber__email="bounced@example.org")

    response = action(staff_client, "mark_active", [*wrongly_suppressed, bounced])

    assert messages_of(response) == [
        "Marked 0 subscription(s) active.",
        "Left 2 subscription(s) alone: the address bounced or complained. If that was wrong, "
        "use “Clear bounce/complaint” first.",
    ]
    statuses = [Subscription.objects.get(pk=row.pk).status for row in wrongly_suppressed]
    assert statuses == [Status.ACTIVE, Status.ACTIVE, Status.UNSUBSCRIBED]
    bounced.refresh_from_db()
    assert bounced.status == Status.UNSUBSCRIBED
    assert (state_of("victim@example.org"), state_of("bounced@example.org")) == (
        "complained",
        "bounced",
    )


def test_mark_active_refuses_an_address_whose_complaint_came_when_nothing_was_live(
    staff_client, make_subscription
):
    # The complaint arrived after the person had unsubscribed.
    ended = make_subscription(email="quiet@example.org", status=Status.UNSUBSCRIBED)
    events.email_event_record(
        email="quiet@example.org",
        event_type="complained",
        event_id="late-complaint",
        occurred_at=timezone.now(),
    )

    action(staff_client, "mark_active", [ended])

    ended.refresh_from_db()
    assert ended.status == Status.UNSUBSCRIBED


def test_the_change_form_cannot_revive_a_suppressed_address_either(
    staff_client, wrongly_suppressed
):
    ended = wrongly_suppressed[2]
    url = reverse("admin:subscriptions_subscription_change", args=[ended.pk])
    form = {"email": ended.subscriber.email, "term": ended.term, **INLINE_MANAGEMENT}

    response = staff_client.post(url, {**form, "status": "active"})

    assert response.status_code == 200  # the form again, with the reason
    assert "This address bounced or complained." in response.content.decode()
    ended.refresh_from_db()
    assert ended.status == Status.UNSUBSCRIBED
    # Other edits of a suppressed address's rows still save.
    live = wrongly_suppressed[0]
    live_url = reverse("admin:subscriptions_subscription_change", args=[live.pk])
    live_form = {"email": live.subscriber.email, "term": live.term, **INLINE_MANAGEMENT}
    staff_client.post(live_url, {**live_form, "status": "unsubscribed"})
    live.refresh_from_db()
    assert live.status == Status.UNSUBSCRIBED


def test_clearing_needs_the_change_permission(make_subscription, wrongly_suppressed):
    viewer = User.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.set(Permission.objects.filter(codename="view_subscription"))
    client = Client()
    client.force_login(viewer)

    action(client, "clear_suppression", wrongly_suppressed[:1])

    assert not EmailEvent.objects.filter(event_type=EmailEvent.Type.SUPPRESSION_CLEARED).exists()
    assert state_of("victim@example.org") == "complained"


# -- the address is the subscriber's -----------------------------------------------------------


def change(staff_client, subscription, **fields):
    url = reverse("admin:subscriptions_subscription_change", args=[subscription.pk])
    form = {"email": subscription.subscriber.email, "term": subscription.term, "status": "active"}
    return staff_client.post(url, {**form, **fields, **INLINE_MANAGEMENT})


def test_correcting_the_address_moves_the_subscription_to_that_inbox(
    staff_client, make_subscription
):
    typo = make_subscription(email="ann@exmaple.org", term="jazz")
    other = make_subscription(email="ann@exmaple.org", term="calm")

    response = change(staff_client, typo, email="Ann@example.org")

    assert response.status_code == 302
    typo.refresh_from_db()
    assert typo.subscriber.email == "Ann@example.org"
    assert services.confirmation_resend(subscription=typo) is False  # active: nothing to send
    other.refresh_from_db()
    assert other.subscriber.email == "ann@exmaple.org"  # only the row staff corrected moved
    listed = staff_client.get(CHANGELIST, {"q": "ANN+x@Example.org"})
    assert [s.pk for s in listed.context["cl"].result_list] == [typo.pk]


def test_correcting_the_address_into_a_live_term_of_that_inbox_is_a_form_error(
    staff_client, make_subscription
):
    make_subscription(email="ann@example.org", term="jazz")
    typo = make_subscription(email="ann@exmaple.org", term="Jazz")

    response = change(staff_client, typo, email="ann@example.org")

    assert response.status_code == 200
    assert "This address already has a pending or active subscription for this term." in (
        response.content.decode()
    )
    typo.refresh_from_db()
    assert typo.subscriber.email == "ann@exmaple.org"


def test_a_confirmation_goes_to_the_subscribers_address(staff_client, make_subscription):
    pending = make_subscription(email="Ann@example.org", term="jazz", status=Status.PENDING)
    Subscriber.objects.filter(pk=pending.subscriber_id).update(email="ann@example.org")

    action(staff_client, "resend_confirmation", [pending])

    [confirmation] = mail.outbox
    assert confirmation.to == ["ann@example.org"]


def test_staff_add_a_subscription_for_an_address_and_it_joins_that_inbox(admin_client):
    known = factories.subscription("Ann@example.org", term="jazz")
    add = reverse("admin:subscriptions_subscription_add")
    assert admin_client.get(add).status_code == 200

    form = {"email": "ann+more@example.org", "term": " calm  evenings ", "status": "pending"}
    response = admin_client.post(add, {**form, **INLINE_MANAGEMENT})

    assert response.status_code == 302
    added = Subscription.objects.get(term="calm evenings")
    assert added.subscriber == known.subscriber
    again = admin_client.post(add, {**form, "term": "JAZZ", **INLINE_MANAGEMENT})
    assert again.status_code == 200  # the form again: that inbox already gets jazz
    assert Subscription.objects.filter(term__iexact="jazz").count() == 1
