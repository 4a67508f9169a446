"""What each subscriber receives: picks, links, escaping, headers (anymail's test backend)."""

import pytest
from django.core import mail

from subscriptions.daily import daily_playlists_send
from subscriptions.models import DailyEmail, SentPlaylist, Subscription
from subscriptions.tests.daily_support import (
    TODAY,
    TOMORROW,
    claims,
    mark_already_sent,
    outbox_messages,
    use_anymail_test_backend,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _backend(settings, fake_spotify):
    use_anymail_test_backend(settings)
    settings.MIN_PLAYLIST_TRACKS = 10
    # The playlists' own links, as they go without click recording (with it, each goes
    # through our /go/ redirect: subscriptions/tests/listening).
    settings.CLICK_RECORDING = False


def only(fake_spotify, term, **playlist):
    """Make `term`'s search return exactly one playlist; returns its id."""
    playlist_id = fake_spotify.add_playlist(**playlist)
    fake_spotify.set_search_results(term, [playlist_id])
    return playlist_id


def test_one_email_per_address_with_one_pick_per_term(make_subscription, fake_spotify):
    jazz = only(fake_spotify, "jazz", name="Late Jazz", owner_name="Ann", track_count=30)
    rain = only(fake_spotify, "rainy day", name="Rain Songs", owner_name="Bo", track_count=12)
    first = make_subscription(email="ann@example.org", term="jazz")
    second = make_subscription(email="ann@example.org", term="rainy day")
    make_subscription(email="bo@example.org", term="jazz")

    summary = daily_playlists_send(today=TODAY, seed=1)

    messages = outbox_messages()
    assert sorted(messages) == ["ann@example.org", "bo@example.org"]
    ann = messages["ann@example.org"]
    assert ann["subject"] == "Your playlists for Wednesday 25 November"
    assert "You should listen to:" in ann["text"]
    assert ann["text"].count("Open on the web:") == 2
    assert "Late Jazz" in ann["text"] and "by Ann, 30 tracks" in ann["text"]
    assert "Rain Songs" in ann["html"] and "by Bo, 12 tracks" in ann["html"]
    assert f"https://open.spotify.com/playlist/{jazz}" in ann["text"]
    assert f"spotify:playlist:{rain}" in ann["html"]
    assert ann["metadata"]["subscription_ids"] == f"{first.pk},{second.pk}"
    assert ann["tags"] == []
    assert summary.emails == 2 and summary.playlists == 3
    # One API call for both, whatever their numbers of picks: one layout, per-address parts.
    assert summary.batches == 1
    assert [sorted(batch.to) for batch in mail.outbox] == [["ann@example.org", "bo@example.org"]]
    assert claims() == {"ann@example.org": "sent", "bo@example.org": "sent"}
    assert set(SentPlaylist.objects.values_list("subscription__term", "playlist_id")) == {
        ("jazz", jazz),
        ("rainy day", rain),
    }
    assert Subscription.objects.filter(last_sent_on=TODAY).count() == 3


def test_playlist_name_is_escaped_in_html_and_plain_in_text(make_subscription, fake_spotify):
    only(fake_spotify, "rock", name="Rock <b>&</b> Roll", owner_name="<script>x</script>")
    make_subscription(email="ann@example.org", term="rock")

    daily_playlists_send(today=TODAY)

    message = outbox_messages()["ann@example.org"]
    assert "Rock &lt;b&gt;&amp;&lt;/b&gt; Roll" in message["html"]
    assert "<script>" not in message["html"]
    assert "Rock <b>&</b> Roll" in message["text"]
    assert "by <script>x</script>" in message["text"]


def test_unsubscribe_links_per_term_and_for_everything(make_subscription, fake_spotify):
    only(fake_spotify, "jazz", name="Late Jazz")
    only(fake_spotify, "rain", name="Rain Songs")
    jazz = make_subscription(email="Ann@Example.org", term="jazz")
    rain = make_subscription(email="ann@example.org", term="rain")
    other = make_subscription(email="bo@example.org", term="jazz")

    daily_playlists_send(today=TODAY)

    messages = outbox_messages()
    ann = messages["Ann@example.org"]  # the address as first typed; the domain normalised
    site = "https://funky.example.com/subscriptions/unsubscribe"
    for link in (f"{site}/{jazz.token}/", f"{site}/{rain.token}/"):
        assert link in ann["text"] and link in ann["html"]
    assert ann["headers"]["List-Unsubscribe"] == f"<{site}/{jazz.token}/>"
    assert ann["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "Stop all your daily playlists" in ann["html"]
    assert messages["bo@example.org"]["headers"]["List-Unsubscribe"] == f"<{site}/{other.token}/>"
    assert other.token not in ann["text"]


def test_no_pick_repeats_across_days(make_subscription, fake_spotify):
    ids = [fake_spotify.add_playlist(name=f"Jazz {n}", track_count=20) for n in range(3)]
    fake_spotify.set_search_results("jazz", ids)
    subscription = make_subscription(email="ann@example.org", term="jazz")

    for offset in range(3):
        daily_playlists_send(today=TODAY.replace(day=TODAY.day + offset), seed=offset)
    fourth = daily_playlists_send(today=TODAY.replace(day=TODAY.day + 3))

    sent = list(
        subscription.sent_playlists.order_by("sent_on").values_list("playlist_id", flat=True)
    )
    assert sorted(sent) == sorted(ids)
    assert fourth.emails == 0 and fourth.no_new_playlist == 1
    assert DailyEmail.objects.get(day=TODAY.replace(day=28)).status == "skipped"


def test_short_playlists_are_not_picked_and_unknown_counts_are(
    make_subscription, fake_spotify, settings, caplog
):
    settings.MIN_PLAYLIST_TRACKS = 10
    short = fake_spotify.add_playlist(name="Too short", track_count=9)
    enough = fake_spotify.add_playlist(name="Just enough", track_count=10)
    fake_spotify.set_search_results("short", [short])
    fake_spotify.set_search_results("enough", [short, enough])
    unknown = only(fake_spotify, "unknown", name="No count", count_in=None)
    make_subscription(email="a@example.org", term="short")
    make_subscription(email="b@example.org", term="enough")
    make_subscription(email="c@example.org", term="unknown")

    caplog.set_level("INFO", logger="subscriptions.daily")
    summary = daily_playlists_send(today=TODAY)

    messages = outbox_messages()
    assert "a@example.org" not in messages
    assert "Just enough" in messages["b@example.org"]["text"]
    assert "No count" in messages["c@example.org"]["text"]
    assert "tracks" not in messages["c@example.org"]["text"].split("No count")[1].split("\n")[1]
    assert summary.no_new_playlist == 1
    assert claims()["a@example.org"] == "skipped"
    assert SentPlaylist.objects.filter(playlist_id=unknown).exists()
    assert "no track count for 1 playlists" in caplog.text


def test_used_up_first_page_looks_further_then_skips(make_subscription, fake_spotify):
    first_page = [fake_spotify.add_playlist(name=f"Page one {n}") for n in range(10)]
    deeper = fake_spotify.add_playlist(name="On page two")
    fake_spotify.set_search_results("jazz", [*first_page, None, deeper])
    subscription = make_subscription(email="ann@example.org", term="jazz")
    mark_already_sent(subscription, first_page)

    daily_playlists_send(today=TODAY)
    searches = fake_spotify.calls("search")
    assert [call.params["offset"] for call in searches] == ["0", "10"]
    assert "On page two" in outbox_messages()["ann@example.org"]["text"]

    next_day = daily_playlists_send(today=TOMORROW)
    assert next_day.emails == 0 and next_day.no_new_playlist == 1
    assert claims(TOMORROW) == {"ann@example.org": "skipped"}


def test_looking_further_stops_after_fifty_results(make_subscription, fake_spotify):
    subscription = make_subscription(email="ann@example.org", term="anything")
    ids = [fake_spotify.add_playlist(name=f"P{n}") for n in range(60)]
    fake_spotify.set_search_results("anything", ids)
    mark_already_sent(subscription, ids[:50])

    summary = daily_playlists_send(today=TODAY)

    assert [call.params["offset"] for call in fake_spotify.calls("search")] == [
        "0",
        "10",
        "20",
        "30",
        "40",
    ]
    assert summary.no_new_playlist == 1 and summary.emails == 0


def test_two_terms_of_one_address_do_not_get_the_same_playlist(make_subscription, fake_spotify):
    shared = fake_spotify.add_playlist(name="Shared")
    own = fake_spotify.add_playlist(name="Solo")
    fake_spotify.set_search_results("jazz", [shared])
    fake_spotify.set_search_results("blues", [shared, own])
    make_subscription(email="ann@example.org", term="jazz")
    make_subscription(email="ann@example.org", term="blues")

    daily_playlists_send(today=TODAY)

    text = outbox_messages()["ann@example.org"]["text"]
    assert text.count("Shared") == 1 and text.count("Solo") == 1


def test_only_active_subscriptions_get_mail(make_subscription, fake_spotify):
    only(fake_spotify, "jazz", name="Late Jazz")
    for status in ("pending", "unsubscribed", "bounced", "complained"):
        make_subscription(email=f"{status}@example.org", term="jazz", status=status)
    make_subscription(email="active@example.org", term="jazz")

    summary = daily_playlists_send(today=TODAY)

    assert list(outbox_messages()) == ["active@example.org"]
    assert summary.emails == 1
    assert list(claims()) == ["active@example.org"]


def test_same_seed_same_picks(make_subscription, fake_spotify):
    make_subscription(email="ann@example.org", term="jazz")

    daily_playlists_send(today=TODAY, seed=7)
    first = SentPlaylist.objects.get().playlist_id
    SentPlaylist.objects.all().delete()
    DailyEmail.objects.all().delete()
    Subscription.objects.update(last_sent_on=None)
    daily_playlists_send(today=TODAY, seed=7)

    assert SentPlaylist.objects.get().playlist_id == first
