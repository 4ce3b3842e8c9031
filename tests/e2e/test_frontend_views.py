"""Single views of the web app in a real Chromium against the full real stack behind nginx (nothing
mocked): the calendar, errors that clear, server-side search, keyboard use, a new tab, logout, a strict CSP
and a 360 px screen. The guest, host and admin journeys are in test_frontend_journeys.py.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import requests
from playwright.sync_api import expect

from infra.services import DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD
from tests.support.browser import (
    api_login,
    assert_fits,
    book_by_api,
    free_dates,
    log_in,
    open_booking,
    open_property,
    register_by_api,
    shot,
    signed_in,
    submit_booking,
    unique_user,
)

pytestmark = pytest.mark.browser


def test_calendar_disables_booked_and_past_nights_and_prices_no_past_dates(open_page, site) -> None:
    page = open_page()
    signed_in(page, site)
    today = dt.date.today()
    booked_start = today + dt.timedelta(days=2)
    booker = unique_user("cal")
    register_by_api(site, booker)
    token = api_login(site, booker["email"], booker["password"])
    me = requests.get(f"{site}/api/users/profile", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    listing = {"name": f"Calendar cabin {uuid.uuid4().hex[:6]}", "location": "Testville", "pricePerNight": 70}
    admin = api_login(site, DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD)
    created = requests.post(
        f"{site}/api/bookings/properties",
        json=listing,
        headers={"Authorization": f"Bearer {admin}"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    property_id = created.json()["propertyId"]
    body = {
        "userId": me.json()["id"],
        "propertyId": property_id,
        "startDate": booked_start.isoformat(),
        "endDate": (booked_start + dt.timedelta(days=2)).isoformat(),
    }
    response = requests.post(
        f"{site}/api/bookings/book", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert response.status_code == 201, response.text

    page.goto(f"/#/property/{property_id}?from={booked_start.isoformat()}")
    night = page.locator(f"#calendar [data-day='{booked_start.isoformat()}']")
    expect(night).to_be_disabled()
    expect(night).to_have_attribute("data-booked", "")
    if today.day > 1:
        yesterday = (today - dt.timedelta(days=1)).isoformat()
        page.goto(f"/#/property/{property_id}")
        expect(page.locator(f"#calendar [data-day='{yesterday}']")).to_be_disabled()
    form = page.locator("#booking-form")
    form.get_by_label("Check-in").fill((today - dt.timedelta(days=3)).isoformat())
    form.get_by_label("Check-out").fill(today.isoformat())
    expect(page.locator("#price-preview")).to_have_text("Check-in cannot be in the past.")
    expect(form.get_by_role("button", name="Book now")).to_be_disabled()


def test_an_old_error_is_cleared_when_the_dates_change(open_page, site) -> None:
    page = open_page()
    signed_in(page, site)
    start, end = free_dates(4)
    open_booking(page, "Modern City Apartment", start, end)
    submit_booking(page)
    expect(page.locator("#booking-confirmation")).to_be_visible()
    open_booking(page, "Modern City Apartment", start, end)
    submit_booking(page)
    expect(page.locator("#booking-alert")).to_contain_text(f"({start} → {end})")
    page.locator("#booking-form").get_by_label("Check-out").fill(
        (dt.date.fromisoformat(end) + dt.timedelta(days=1)).isoformat()
    )
    expect(page.locator("#booking-alert")).to_be_hidden()


def test_unavailable_property_has_no_active_book_button(open_page, site) -> None:
    page = open_page()
    open_property(page, "Downtown Penthouse")
    expect(page.locator("#unavailable-note")).to_have_text("This property is not taking bookings.")
    expect(page.locator("#booking-form").get_by_role("button")).to_be_disabled()


def test_search_sorts_and_pages_on_the_server(open_page, site) -> None:
    page = open_page()
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url) if "/api/bookings/properties?" in r.url else None)
    page.get_by_label("Max price per night").fill("150")
    page.get_by_label("Sort by").select_option("-price")
    expect(page.locator("#property-list")).to_have_attribute("aria-busy", "false")
    assert any("sort=-price" in url and "maxPrice=150" in url for url in seen), seen
    prices = page.locator("li.property .price strong").all_inner_texts()
    values = [float(p.replace("$", "").replace(",", "")) for p in prices]
    assert values == sorted(values, reverse=True) and all(v <= 150 for v in values)
    if page.get_by_role("button", name="Next").is_enabled():
        page.get_by_role("button", name="Next").click()
        expect(page.locator("#result-count")).to_contain_text("Showing 13")


def test_keyboard_only_watch_toggle_on_the_property_page(open_page, site) -> None:
    page = open_page()
    signed_in(page, site)
    open_property(page, "Rustic Mountain Cabin")
    page.get_by_role("button", name="Watch Rustic Mountain Cabin", exact=True).focus()
    page.keyboard.press("Space")
    expect(page.get_by_role("button", name="Stop watching Rustic Mountain Cabin")).to_have_attribute(
        "aria-pressed", "true"
    )


def test_a_new_tab_shows_the_properties_i_watch(open_page, site) -> None:
    """The watch list outlives the tab: the realtime service keeps it per user and the page reads it with
    GET /api/bookings/watching, so another browser (a fresh context: no storage in common) shows it."""
    page = open_page()
    user = signed_in(page, site)
    open_property(page, "Charming Country Cottage")
    page.get_by_role("button", name="Watch Charming Country Cottage", exact=True).click()
    expect(page.get_by_role("button", name="Stop watching Charming Country Cottage")).to_be_visible()
    tab = open_page()
    log_in(tab, user["email"], user["password"])
    expect(tab.locator("#live-status")).to_have_attribute("data-state", "online")
    open_property(tab, "Charming Country Cottage")
    expect(tab.get_by_role("button", name="Stop watching Charming Country Cottage")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(tab.locator("#live-status")).to_have_attribute("data-rooms", "1")


def test_logout_clears_the_session_and_guards_private_views(open_page, site) -> None:
    page = open_page()
    signed_in(page, site)
    page.goto("/#/admin")
    expect(page.get_by_role("heading", name="Find a place to stay", level=1)).to_be_visible()
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
    open_property(page, "Rustic Mountain Cabin")
    assert violations == []


@pytest.mark.parametrize("route", ["login", "register", "properties", "bookings", "account"])
def test_views_fit_a_360px_screen(open_page, site, route) -> None:
    page = open_page(width=360, height=740)
    if route not in ("login", "register", "properties"):
        signed_in(page, site)
    if route == "bookings":
        book_by_api(page, site, property_id=4)
    page.goto(f"/#/{route}")
    expect(page.locator("#view h1")).to_be_visible()
    expect(page.locator("[aria-busy=true]")).to_have_count(0)
    if route == "bookings":
        expect(page.locator("#upcoming-table tbody tr")).to_have_count(1)
    assert_fits(page, route)
    shot(page, f"12-mobile-{route}")
    if route == "properties":
        open_property(page, "Oceanfront Luxury Villa")
        assert_fits(page, "property page")
