"""The results page and the longest playlist page stay light, and the browser talks to no host
but ours and Spotify's."""

import pytest

from tests.browser.conftest import origin

pytestmark = pytest.mark.browser

BUDGET_BYTES = 100 * 1024  # our own HTML, CSS, JavaScript and icons together


# The playlist has 500 tracks: all of them made 168 KB of HTML; the page now lists 100.
PAGES = {"results": "/search/?q=happy", "playlist": "/playlist/{long}/"}


@pytest.mark.parametrize("name", PAGES)
def test_page_is_under_100_kb_and_fetches_only_from_us_and_spotify(name, app, open_tab):
    path = PAGES[name].format(**app.playlists)
    tab = open_tab()
    responses = []
    tab.page.on("response", lambda response: responses.append(response))
    tab.page.goto(path, wait_until="networkidle")

    ours = [response for response in responses if origin(response.url) == app.url]
    # Bodies as decoded: an upper bound on what crossed the wire, compressed or not.
    sizes = {response.url: len(response.body()) for response in ours}
    kinds = {response.request.resource_type for response in ours}
    assert {"document", "stylesheet", "script"} <= kinds, sizes
    total = sum(sizes.values())
    listing = "\n".join(f"{size:>8} {url}" for url, size in sizes.items())
    print(f"\n{path}: {total} bytes of our own in {len(sizes)} responses\n{listing}")
    assert total < BUDGET_BYTES, f"{total} bytes, over {BUDGET_BYTES}:\n{listing}"

    assert tab.spotify_requests, "no cover was fetched from Spotify's image host"
    assert not tab.foreign_requests, "requests to hosts other than ours and Spotify's"
