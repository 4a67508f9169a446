"""Links in the daily email and its web copy go through our own redirect (/go/…): a click is
recorded, and the answer is always the stored playlist, never a place the request names."""

import pytest
from django.core import mail
from django.urls import reverse

from subscriptions.models import ListeningEvent, SentPlaylist, Subscriber
from subscriptions.tests import factories
from subscriptions.tests.listening.support import (
    SITE,
    anchors,
    follow,
    links_named,
    mail_today,
    playlists_for,
    text_link,
)

pytestmark = pytest.mark.django_db

Verdict = ListeningEvent.Verdict


@pytest.fixture
def message(fake_mailgun, fake_spotify):
    playlists_for(fake_spotify, "jazz", "rain")
    return mail_today(fake_mailgun, terms=("jazz", "rain"))


def recorded():
    return sorted(
        ListeningEvent.objects.values_list("link", "verdict", "sent_playlist__subscription__term")
    )


def test_every_pick_opens_through_our_redirect_to_its_own_playlist(client, message):
    picks = {sent.subscription.term: sent for sent in SentPlaylist.objects.all()}
    web = links_named(message["html"], "Open on the web")
    app = links_named(message["html"], "Open in the Spotify app")
    assert len(web) == len(app) == 2
    # The text part carries the same links; no Spotify address is in the email itself.
    assert text_link(message["text"], "Open on the web") == web
    assert text_link(message["text"], "Open in the Spotify app") == app
    assert all(link.startswith(f"{SITE}/go/") for link in web + app)
    assert "open.spotify.com" not in message["text"] + message["html"]
    assert "<img" not in message["html"]  # no pixel, no image beacon

    for term, web_link, app_link in zip(("jazz", "rain"), web, app, strict=True):
        opened = follow(client, web_link)
        assert opened.status_code == 302
        assert opened["Location"] == picks[term].web_url
        in_app = follow(client, app_link)
        assert in_app.status_code == 302
        assert in_app["Location"] == picks[term].uri
        assert in_app["Location"].startswith("spotify:playlist:")

    assert recorded() == [
        ("app", Verdict.LISTENER, "jazz"),
        ("app", Verdict.LISTENER, "rain"),
        ("web", Verdict.LISTENER, "jazz"),
        ("web", Verdict.LISTENER, "rain"),
    ]


def test_the_request_cannot_choose_where_the_link_leads(client, message):
    (jazz, _) = links_named(message["html"], "Open on the web")
    stored = SentPlaylist.objects.get(subscription__term="jazz").web_url

    for extra in ("?next=https://evil.example/", "?url=//evil.example", "?to=javascript:alert(1)"):
        response = follow(client, jazz + extra)
        assert response.status_code == 302
        assert response["Location"] == stored


@pytest.mark.parametrize(
    "tamper",
    [
        lambda link: link.replace("/go/w", "/go/a", 1),  # another link of the pick
        lambda link: link[:-3] + ("A" if link[-3] != "A" else "B") + "/",  # the signature
        lambda link: link.rsplit(".", 1)[0] + "/",  # no signature
        lambda link: link.replace("/go/w", "/go/w9", 1),  # another subscription
        lambda link: f"{SITE}/go/{'x' * 5000}/",
        lambda link: f"{SITE}/go/%00%ff/",
    ],
)
def test_an_altered_link_is_a_404_and_records_nothing(client, message, tamper):
    (jazz, _) = links_named(message["html"], "Open on the web")

    response = follow(client, tamper(jazz))

    assert response.status_code == 404
    assert not ListeningEvent.objects.exists()


def test_a_link_whose_pick_is_gone_leads_to_the_playlists_page_here(client, message):
    """An erased subscriber's old email, or a staff test send (whose picks are never stored):
    the signed playlist id still finds its page on this site, and nobody's click is kept."""
    (jazz, _) = links_named(message["html"], "Open on the web")
    sent = SentPlaylist.objects.get(subscription__term="jazz")
    Subscriber.objects.all().delete()

    response = follow(client, jazz)

    assert response.status_code == 302
    assert response["Location"] == f"/playlist/{sent.playlist_id}/"
    assert not ListeningEvent.objects.exists()


def test_the_web_copy_opens_its_picks_through_the_redirect_too(client, message):
    (copy,) = links_named(message["html"], "View in your browser")
    visit = follow(client, copy)
    assert visit.status_code == 302  # the visit is counted, then the plain address is shown
    page = follow(client, visit["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    web = links_named(html, "Open on the web")
    app = links_named(html, "Open in the Spotify app")
    assert len(web) == len(app) == 2
    assert all(link.startswith("/go/") for link in web + app)
    picks = dict(SentPlaylist.objects.values_list("web_url", "uri"))

    for web_link, app_link in zip(web, app, strict=True):
        opened = follow(client, web_link)
        assert opened.status_code == 302 and opened["Location"] in picks
        in_app = follow(client, app_link)
        assert in_app.status_code == 302 and in_app["Location"] == picks[opened["Location"]]
    assert ListeningEvent.objects.filter(link__in=["web", "app"]).count() == 4


def test_with_click_recording_off_the_links_are_plain_and_nothing_is_kept(
    client, settings, fake_mailgun, fake_spotify
):
    settings.CLICK_RECORDING = False
    playlists_for(fake_spotify, "jazz")
    message = mail_today(fake_mailgun)
    sent = SentPlaylist.objects.get()

    links = [href for href, _ in anchors(message["html"])]
    assert links_named(message["html"], "Open on the web") == [sent.web_url]
    assert links_named(message["html"], "Open in the Spotify app") == [sent.uri]
    assert not [link for link in links if "/go/" in link or "from=email" in link]
    assert text_link(message["text"], "Open on the web") == [sent.web_url]
    (copy,) = links_named(message["html"], "View in your browser")
    page = follow(client, copy)
    assert page.status_code == 200
    assert links_named(page.content.decode(), "Open on the web") == [sent.web_url]
    assert not ListeningEvent.objects.exists()


def test_with_click_recording_off_an_old_link_still_opens_and_records_nothing(
    client, settings, message
):
    (jazz, _) = links_named(message["html"], "Open on the web")
    settings.CLICK_RECORDING = False

    response = follow(client, jazz)

    assert response.status_code == 302
    assert response["Location"] == SentPlaylist.objects.get(subscription__term="jazz").web_url
    assert not ListeningEvent.objects.exists()


def test_a_staff_test_send_carries_plain_links_nobody_s_listening(
    admin_client, admin_user, settings, fake_spotify
):
    """The staff member's clicks on their copy are not the subscriber's listening."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    admin_user.email = "staff@funky.example"
    admin_user.save()
    playlists_for(fake_spotify, "jazz")
    subscriber = factories.subscription("ann@example.org", "jazz").subscriber

    admin_client.post(
        reverse("admin:subscriptions_subscriber_changelist"),
        {"action": "send_me_todays_email", "_selected_action": [subscriber.pk]},
    )

    (message,) = mail.outbox
    html = message.alternatives[0][0]
    links = [href for href, _ in anchors(html)]
    assert links_named(html, "Open on the web")[0].startswith("https://open.spotify.com/playlist/")
    assert not [link for link in links if "/go/" in link or "from=email" in link]
    assert "/go/" not in message.body and "from=email" not in message.body


def test_the_redirect_tells_spotify_nothing_of_the_link(client, message):
    (jazz, _) = links_named(message["html"], "Open on the web")
    response = follow(client, jazz)
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
