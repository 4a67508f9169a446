"""The daily sender with odd but valid Spotify answers: it mails what it can use, skips the rest.

The bodies are allowed by Spotify's OpenAPI description (see search/tests/test_spotify_odd.py);
the sender itself is unchanged: the Spotify client hands it cleaned values.
"""

import pytest

from subscriptions.daily import daily_playlists_send
from subscriptions.models import SentPlaylist
from subscriptions.tests.daily_support import TODAY, outbox_messages, use_anymail_test_backend
from tests.fakes.spotify import RawJSON

pytestmark = pytest.mark.django_db

LONE_SURROGATE = "\ud83d"
HUGE = 10**400


@pytest.fixture(autouse=True)
def _backend(settings, fake_spotify):
    use_anymail_test_backend(settings)


def test_odd_playlists_are_mailed_cleaned_and_unusable_ones_skipped(
    make_subscription, fake_spotify
):
    odd = fake_spotify.add_playlist(
        name=f"Smile {LONE_SURROGATE} now",
        owner_name=f"Ann{LONE_SURROGATE}",
        description="Best of <i" + " <3" * 400,
        overrides={
            "followers": {"href": None, "total": HUGE},
            "items": {"href": "x", "total": HUGE},
            "x-extra": RawJSON.nested(1_500),
            "external_urls": {"spotify": "javascript:alert(1)"},
        },
    )
    unusable = fake_spotify.add_playlist(name="Unusable", overrides={"id": "not an id!"})
    fake_spotify.set_search_results("odd", [unusable, None, odd])
    make_subscription(email="a@example.org", term="odd")
    make_subscription(email="b@example.org", term="odd")
    make_subscription(email="b@example.org", term="calm")
    make_subscription(email="c@example.org", term="calm")

    summary = daily_playlists_send(today=TODAY)

    messages = outbox_messages()
    assert sorted(messages) == ["a@example.org", "b@example.org", "c@example.org"]
    for address in ("a@example.org", "b@example.org"):
        assert "Smile \ufffd now" in messages[address]["text"]
        assert "Unusable" not in messages[address]["text"]
        assert "javascript:" not in messages[address]["html"]
    assert "for 'calm'" in messages["b@example.org"]["text"]
    assert summary.failed == 0 and summary.exit_code == 0
    stored = SentPlaylist.objects.filter(subscription__term="odd")
    assert {(row.playlist_id, row.name) for row in stored} == {(odd, "Smile \ufffd now")}
    assert {row.web_url for row in stored} == {f"https://open.spotify.com/playlist/{odd}"}
