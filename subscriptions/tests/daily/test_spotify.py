"""The daily sender's use of Spotify: one search per distinct term, failures kept to their term."""

import pytest

from subscriptions.daily import daily_playlists_send
from subscriptions.tests.daily_support import (
    TODAY,
    claim_of,
    claims,
    mark_already_sent,
    outbox_messages,
    use_anymail_test_backend,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _backend(settings, fake_spotify):
    use_anymail_test_backend(settings)
    settings.SPOTIFY_ATTEMPTS = 1  # one failed answer is a failed search: no retry to schedule


def test_one_search_per_distinct_normalised_term(make_subscription, fake_spotify):
    for number, term in enumerate(["Rainy Day", "rainy   day", "RAINY DAY", "jazz", "Jazz"] * 4):
        make_subscription(email=f"listener{number}@example.org", term=term)

    summary = daily_playlists_send(today=TODAY)

    searches = fake_spotify.calls("search")
    assert sorted(call.params["q"] for call in searches) == ["jazz", "rainy day"]
    assert summary.spotify_calls == 2
    assert summary.emails == 20

    again = daily_playlists_send(today=TODAY)
    assert again.spotify_calls == 0 and len(fake_spotify.calls("search")) == 2


def test_deeper_pages_are_searched_once_per_term(make_subscription, fake_spotify):
    first_page = [fake_spotify.add_playlist(name=f"P{n}") for n in range(10)]
    deeper = [fake_spotify.add_playlist(name=f"Deep {n}") for n in range(2)]
    fake_spotify.set_search_results("jazz", first_page + deeper)
    for email in ("ann@example.org", "bo@example.org"):
        subscription = make_subscription(email=email, term="jazz")
        mark_already_sent(subscription, first_page)

    daily_playlists_send(today=TODAY)

    assert [call.params["offset"] for call in fake_spotify.calls("search")] == ["0", "10"]
    assert all("Deep" in message["text"] for message in outbox_messages().values())


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"status": 500}, id="server error"),
        pytest.param({"status": 429, "headers": {"Retry-After": "3600"}}, id="rate limited"),
        pytest.param("hang", id="timeout"),
    ],
)
def test_a_failing_term_skips_only_its_subscribers(make_subscription, fake_spotify, fault):
    make_subscription(email="a-broken@example.org", term="broken")
    make_subscription(email="b-mixed@example.org", term="broken")
    make_subscription(email="b-mixed@example.org", term="jazz")
    make_subscription(email="c-fine@example.org", term="jazz")
    # One worker searches in the order the batches need the terms: "broken" first.
    if fault == "hang":
        fake_spotify.hang_next("search", seconds=1.5)
    else:
        fake_spotify.fail_next("search", **fault)

    summary = daily_playlists_send(today=TODAY, search_workers=1)

    messages = outbox_messages()
    assert sorted(messages) == ["b-mixed@example.org", "c-fine@example.org"]
    assert "for 'jazz'" in messages["b-mixed@example.org"]["text"]
    assert "for 'broken'" not in messages["b-mixed@example.org"]["text"]
    assert summary.spotify_errors == 2 and summary.no_new_playlist == 0
    assert "skipped 2 (no new playlist: 0, Spotify errors: 2)" in summary.line()
    assert summary.exit_code == 0
    broken = claim_of("a-broken@example.org")
    assert broken.status == "pending" and "Spotify" in broken.error

    later = daily_playlists_send(today=TODAY)

    assert later.emails == 1
    assert claims()["a-broken@example.org"] == "sent"
    assert "for 'broken'" in outbox_messages()["a-broken@example.org"]["text"]
