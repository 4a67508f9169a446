"""Accessibility in a real browser: axe-core on every page, and the forms by keyboard alone."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.audits import axe_violations, blocking, describe_violations
from tests.browser.pages import SITE_PAGES, SUBSCRIBE_BUTTON, unique_address, visit

pytestmark = pytest.mark.browser

# A page has a few dozen focusable elements; more Tab presses than this means focus is stuck.
MAX_TABS = 80


@pytest.mark.parametrize("site_page", SITE_PAGES, ids=lambda site_page: site_page.name)
def test_page_has_no_serious_accessibility_violations(axe, site_page, app, open_tab, artifacts):
    # bypass_csp: axe is injected as an inline script, which a strict CSP would rightly refuse.
    tab = open_tab(bypass_csp=True)
    visit(tab.page, site_page, app=app)
    tab.page.screenshot(path=artifacts / "screenshots" / f"{site_page.name}-desktop.png")

    violations = axe_violations(tab.page)

    serious = blocking(violations)
    assert not serious, f"{site_page.name} ({tab.page.url}):\n{describe_violations(serious)}"
    assert not tab.script_errors
    assert not tab.foreign_requests


def tab_to(page, selector):
    """Press Tab until `selector` has the focus, as a keyboard user would; the Tab count."""
    for presses in range(1, MAX_TABS + 1):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return presses
    raise AssertionError(f"{MAX_TABS} presses of Tab never reached {selector} on {page.url}")


def focus_is_visible(page):
    """The focused element draws an outline or a shadow ring (not `outline: none` alone)."""
    return page.evaluate(
        """() => {
            const style = getComputedStyle(document.activeElement);
            const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
            return outline || style.boxShadow !== "none";
        }"""
    )


def test_search_and_subscribe_forms_work_with_the_keyboard_alone(app, open_tab):
    page = open_tab().page
    page.goto("/")

    tab_to(page, "input[type=search]")
    assert focus_is_visible(page), "the focused search box shows no focus indicator"
    page.keyboard.type("happy")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/search/\?q=happy$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Playlists for “happy”")

    tab_to(page, "input[type=email]")
    assert focus_is_visible(page), "the focused email field shows no focus indicator"
    email = unique_address("keyboard")
    page.keyboard.type(email)
    # The term is prefilled from the search: one more Tab passes it, then the button.
    tab_to(page, "button[type=submit]")
    assert focus_is_visible(page), "the focused subscribe button shows no focus indicator"
    expect(page.locator(":focus")).to_have_text(SUBSCRIBE_BUTTON)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox to confirm")
    assert [(s["term"], s["status"]) for s in app.subscriptions(email)] == [("happy", "pending")]


def test_the_manage_page_works_with_the_keyboard_alone(app, open_tab):
    tokens = app.add_subscriptions({"keys": "active"})
    page = open_tab().page
    page.goto(f"/subscriptions/manage/{tokens['keys_manage']}/")

    tab_to(page, "#add-term")
    assert focus_is_visible(page), "the focused mood field shows no focus indicator"
    page.keyboard.type("rainy sunday")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("You now get a daily playlist for")

    tab_to(page, "button[value=stop]")
    assert focus_is_visible(page), "the focused Stop button shows no focus indicator"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("You get no more playlists for")

    tab_to(page, "#pause-until")
    assert focus_is_visible(page), "the focused date field shows no focus indicator"
    tab_to(page, "#erase-confirm")
    assert focus_is_visible(page), "the focused checkbox shows no focus indicator"
    page.keyboard.press("Space")
    tab_to(page, "button[value=erase]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your data is erased")
    assert page.goto(f"/subscriptions/manage/{tokens['keys_manage']}/").status == 404
