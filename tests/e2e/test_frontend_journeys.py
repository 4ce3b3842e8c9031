"""The web frontend in a real Chromium against the full real stack behind nginx: journeys, filters,
keyboard use, 360 px screens and a strict CSP (nothing mocked).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import (
    SEED_PROPERTIES,
    book_by_api,
    free_dates,
    open_booking,
    property_card,
    shot,
    signed_in,
    submit_booking,
    unique_user,
)

pytestmark = pytest.mark.browser


def test_user_journey_register_login_book_cancel(open_page, site) -> None:
    page = open_page()
    user = unique_user()
    expect(page.get_by_role("heading", name="Log in", level=1)).to_be_visible()
    shot(page, "01-login")
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Username").fill(user["username"])
    page.get_by_label("Email").fill(user["email"])
    page.get_by_label("Password").fill(user["password"])
    shot(page, "02-register")
    page.get_by_role("button", name="Create account").click()

    expect(page.locator("#login-alert")).to_contain_text("User registered successfully")
    expect(page.get_by_label("Email")).to_have_value(user["email"])
    page.get_by_label("Password").fill(user["password"])
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Properties", level=1)).to_be_visible()
    for name in SEED_PROPERTIES:
        expect(property_card(page, name)).to_be_visible()
    expect(property_card(page, "Oceanfront Luxury Villa")).to_contain_text("$450")
    expect(property_card(page, "Downtown Penthouse")).to_contain_text("Unavailable")
    shot(page, "03-properties")

    start, end = free_dates(5)
    open_booking(page, "Oceanfront Luxury Villa", start, end)
    expect(page.locator("#price-preview")).to_have_text("5 nights × $450 = $2,250")
    expect(page.locator("#price-preview")).to_have_attribute("data-total", "2250")
    shot(page, "04-booking", full_page=False)
    submit_booking(page)
    expect(page.locator("#booking-confirmation")).to_contain_text("total $2,250")
    shot(page, "05-booking-confirmed", full_page=False)

    page.get_by_role("button", name="View my bookings").click()
    row = page.locator("#bookings-table tbody tr").filter(has_text="Oceanfront Luxury Villa")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(f"{start} → {end}")
    expect(row).to_contain_text("$2,250")
    shot(page, "06-my-bookings")

    row.get_by_role("button", name="Cancel").click()
    expect(page.locator("#confirm-dialog")).to_contain_text("Oceanfront Luxury Villa")
    shot(page, "07-cancel-confirmation", full_page=False)
    page.locator("#confirm-dialog").get_by_role("button", name="Cancel booking").click()
    expect(page.locator(".toast").filter(has_text="Booking cancelled successfully")).to_be_visible()
    expect(row).to_have_count(0)
    expect(page.get_by_text("No bookings yet")).to_be_visible()
    page.get_by_label("Show cancelled bookings").check()
    expect(row).to_contain_text("cancelled")
    expect(row.get_by_role("button", name="Cancel")).to_have_count(0)


def test_cancel_can_be_declined_and_keeps_the_booking(open_page, site) -> None:
    page = open_page()
    signed_in(page, site)
    start, end = free_dates(2)
    open_booking(page, "Charming Country Cottage", start, end)
    submit_booking(page)
    page.get_by_role("button", name="View my bookings").click()
    row = page.locator("#bookings-table tbody tr").filter(has_text="Charming Country Cottage")
    row.get_by_role("button", name="Cancel").click()
    page.keyboard.press("Escape")
    expect(page.locator("#confirm-dialog")).not_to_be_visible()
    page.reload()
    expect(row).to_have_count(1)


def test_filters_by_location_and_max_price(open_page, site) -> None:
    page = open_page()
    signed_in(page, site)
    page.get_by_label("Location").fill("malibu")
    expect(page.locator("li.property")).to_have_count(1)
    expect(property_card(page, "Oceanfront Luxury Villa")).to_be_visible()
    page.get_by_role("button", name="Clear").click()
    page.get_by_label("Max price per night").fill("150")
    # Other suites add their own properties to the shared stack: check the seed ones, not the whole list.
    for cheap in ("Modern City Apartment", "Charming Country Cottage"):
        expect(property_card(page, cheap)).to_be_visible()
    for dear in ("Oceanfront Luxury Villa", "Rustic Mountain Cabin", "Downtown Penthouse"):
        expect(property_card(page, dear)).to_have_count(0)


def test_keyboard_only_booking_dialog_and_watch_toggle(open_page, site) -> None:
    page = open_page()
    signed_in(page, site)
    book = page.get_by_role("button", name="Book Rustic Mountain Cabin", exact=True)
    book.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#booking-dialog").get_by_label("Check-in")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("#booking-dialog")).not_to_be_visible()
    expect(book).to_be_focused()
    page.get_by_role("button", name="Watch Rustic Mountain Cabin", exact=True).focus()
    page.keyboard.press("Space")
    expect(page.get_by_role("button", name="Stop watching Rustic Mountain Cabin")).to_have_attribute(
        "aria-pressed", "true"
    )


def test_logout_clears_the_session_and_guards_private_views(open_page, site) -> None:
    page = open_page()
    signed_in(page, site)
    page.goto("/#/admin")
    expect(page.get_by_role("heading", name="Properties", level=1)).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    expect(page.locator("#login-alert")).to_have_text("You are logged out.")
    assert page.evaluate("sessionStorage.getItem('hrp.token')") is None
    page.goto("/#/bookings")
    expect(page.get_by_role("heading", name="Log in", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="My bookings")).to_be_hidden()


CSP = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"


def test_works_under_a_strict_content_security_policy(open_page, site) -> None:
    """No inline script or style, no third-party origin: nginx can send this CSP without breaking the page.

    Playwright adds the header to nginx's real index.html response, as nginx would.
    """
    page = open_page()
    violations: list[str] = []
    page.on(
        "console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None
    )

    def with_csp(route) -> None:
        response = route.fetch()
        route.fulfill(response=response, headers={**response.headers, "content-security-policy": CSP})

    page.route("**/", with_csp)
    page.route("**/index.html", with_csp)
    page.reload()
    probe = "s => { s = document.createElement('script'); s.textContent = 'window.ran = 1';"
    probe += " document.head.append(s); return window.ran === undefined; }"
    with page.expect_console_message(lambda msg: "Content Security Policy" in msg.text):
        assert page.evaluate(probe), "the policy is not in force: an inline script ran"
    violations.clear()  # the probe's own, expected violation
    signed_in(page, site)  # needs the ES modules, stylesheets and the Socket.IO connection
    expect(property_card(page, "Rustic Mountain Cabin")).to_be_visible()
    assert violations == []


@pytest.mark.parametrize("route", ["login", "register", "properties", "bookings"])
def test_views_fit_a_360px_screen(open_page, site, route) -> None:
    page = open_page(width=360, height=740)
    if route not in ("login", "register"):
        signed_in(page, site)
    if route == "bookings":
        book_by_api(page, site, property_id=4)
    page.goto(f"/#/{route}")
    expect(page.locator("#view h1")).to_be_visible()
    expect(page.locator("[aria-busy=true]")).to_have_count(0)
    if route == "bookings":
        expect(page.locator("#bookings-table tbody tr")).to_have_count(1)
    assert_fits(page, route)
    shot(page, f"12-mobile-{route}")
    if route == "properties":
        page.get_by_role("button", name="Book Oceanfront Luxury Villa", exact=True).click()
        overflow = page.locator("#booking-dialog").evaluate(
            "d => Math.max(d.getBoundingClientRect().right - innerWidth, d.scrollWidth - d.clientWidth)"
        )
        assert overflow <= 0, f"the booking dialog is {overflow}px too wide for a 360px screen"
        shot(page, "12-mobile-booking", full_page=False)


def assert_fits(page: Page, what: str) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{what} is {overflow}px wider than a 360px screen"
