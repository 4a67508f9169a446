"""Every daily email on the web: the link in the delivered email opens its picks, for its
subscriber only (through the fake Mailgun: what is read here is what the inbox got)."""

from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from subscriptions.daily import daily_playlists_send
from subscriptions.models import DailyEmail, SentPlaylist, Subscriber
from subscriptions.tests import factories
from subscriptions.tests.daily_support import TODAY, delivered_messages, html_links, text_links

pytestmark = pytest.mark.django_db

SITE = "https://funky.example.com"


@pytest.fixture
def mailed(fake_mailgun, fake_spotify):
    """Ann (two moods) and Bo got today's email: {address: delivered message}."""
    for term in ("jazz", "rain"):
        fake_spotify.set_search_results(
            term, [fake_spotify.add_playlist(name=f"{term} & more {n}") for n in range(3)]
        )
    factories.subscription("ann@example.org", term="jazz")
    factories.subscription("ann@example.org", term="rain")
    factories.subscription("bo@example.org", term="jazz")
    daily_playlists_send(today=TODAY, seed=3)
    return {message["to"]: message for message in delivered_messages(fake_mailgun)}


def copy_link(message):
    text = [link for link in text_links(message["text"]) if "/emails/" in link]
    html = [link for link in html_links(message["html"]) if "/emails/" in link]
    assert len(text) == 1 and text == html
    assert text[0].startswith(f"{SITE}/subscriptions/manage/")
    return urlsplit(text[0]).path


def test_the_view_in_your_browser_link_opens_the_same_picks(client, mailed):
    for address, message in mailed.items():
        assert (
            "View in your browser" in message["text"] and "View in your browser" in message["html"]
        )
        response = client.get(copy_link(message))
        assert response.status_code == 200
        page = response.content.decode()
        picks = SentPlaylist.objects.filter(subscription__subscriber__email=address)
        assert picks.count() >= 1
        for pick in picks:
            assert pick.name.replace("&", "&amp;") in page
            assert pick.name in message["text"]
            # Through our /go/ redirect, as in the email (subscriptions.listening).
            opened = {client.get(link)["Location"] for link in html_links(page) if "/go/" in link}
            assert pick.web_url in opened and pick.uri in opened
            assert f"https://open.spotify.com/embed/playlist/{pick.playlist_id}" in page
            if pick.image_url:
                assert pick.image_url in page
        # Private: never cached, never indexed.
        assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
        assert "noindex" in response["X-Robots-Tag"]
        assert '<meta name="robots" content="noindex, nofollow">' in page


def test_the_copy_keeps_the_cover_the_email_had(client, mailed):
    picks = SentPlaylist.objects.exclude(image_url="")
    assert picks.exists()  # the fake's playlists have covers


def test_another_subscribers_token_or_a_wrong_id_is_a_404(client, mailed):
    ann, bo = (Subscriber.objects.get(email=e) for e in ("ann@example.org", "bo@example.org"))
    anns_email = DailyEmail.objects.get(subscriber=ann)
    for token, pk in [
        (bo.manage_token, anns_email.pk),  # Bo's token, Ann's email
        ("x" * 43, anns_email.pk),
        ("x" * 300, anns_email.pk),
        (ann.manage_token, anns_email.pk + 1000),
        (ann.manage_token, 2**70),
    ]:
        url = reverse("subscriptions:email_copy", kwargs={"token": token, "pk": pk})
        assert client.get(url).status_code == 404, (token, pk)


def test_an_email_that_was_not_sent_has_no_copy(client, mailed):
    ann = Subscriber.objects.get(email="ann@example.org")
    skipped = DailyEmail.objects.create(subscriber=ann, day=TODAY.replace(day=1), status="skipped")
    url = reverse("subscriptions:email_copy", kwargs={"token": ann.manage_token, "pk": skipped.pk})
    assert client.get(url).status_code == 404


def test_a_post_to_the_copy_changes_nothing_and_is_refused(client, mailed):
    response = client.post(copy_link(mailed["ann@example.org"]))
    assert response.status_code == 405


def test_the_past_emails_list_links_to_each_copy(client, mailed):
    ann = Subscriber.objects.get(email="ann@example.org")
    page = client.get(reverse("subscriptions:email_list", kwargs={"token": ann.manage_token}))
    assert page.status_code == 200
    copy = copy_link(mailed["ann@example.org"])
    assert copy in html_links(page.content.decode())
    assert "2 playlists" in page.content.decode()
    bo = Subscriber.objects.get(email="bo@example.org")
    bos = client.get(reverse("subscriptions:email_list", kwargs={"token": bo.manage_token}))
    assert copy not in bos.content.decode()


def test_the_manage_page_lists_past_emails_and_links_the_schedule(client, mailed):
    ann = Subscriber.objects.get(email="ann@example.org")
    page = client.get(reverse("subscriptions:manage", kwargs={"token": ann.manage_token}))
    assert page.status_code == 200
    links = html_links(page.content.decode())
    assert copy_link(mailed["ann@example.org"]) in links
    assert reverse("subscriptions:schedule", kwargs={"token": ann.manage_token}) in links
    assert "Every day, from 07:00 in UTC." in page.content.decode()
