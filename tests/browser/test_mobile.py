"""On a phone-width screen (375×812) no page scrolls sideways; screenshots for people to look at."""

import pytest

from tests.browser.conftest import MOBILE
from tests.browser.pages import SITE_PAGES, visit

pytestmark = pytest.mark.browser

# The elements that stick out past the right edge of the viewport, for the failure message.
OVERFLOWING = """() => {
    const width = document.documentElement.clientWidth;
    return [...document.querySelectorAll("body *")]
        .filter(element => element.getBoundingClientRect().right > width + 0.5)
        .slice(0, 10)
        .map(element => {
            const box = element.getBoundingClientRect();
            const classes = element.className ? "." + [...element.classList].join(".") : "";
            return `${element.tagName.toLowerCase()}${classes} (right edge ${box.right}px)`;
        });
}"""


@pytest.mark.parametrize("site_page", SITE_PAGES, ids=lambda site_page: site_page.name)
def test_page_fits_a_phone_screen_without_sideways_scrolling(site_page, app, open_tab, artifacts):
    tab = open_tab(viewport=MOBILE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = tab.page
    visit(page, site_page, app=app)
    page.screenshot(path=artifacts / "screenshots" / f"{site_page.name}-mobile.png", scale="css")

    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    scroll_width, client_width = widths
    assert client_width == MOBILE["width"], "the page has no working viewport meta tag"
    assert scroll_width <= client_width, (
        f"{site_page.name} scrolls sideways at {client_width}px: {scroll_width}px wide; "
        f"sticking out: {page.evaluate(OVERFLOWING)}"
    )
