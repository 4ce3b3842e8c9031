"""The web app in a real Chromium against the full real stack behind nginx (nothing mocked): the guest,
host and admin journeys of issue #20 at 1280×800 and 390×844, each view checked by axe-core for serious or
critical WCAG 2.1 AA violations; server-side search, the calendar, keyboard use, a strict CSP.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid

import pytest
import requests
from PIL import Image
from playwright.sync_api import Page, expect

from infra.services import DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD
from tests.support.browser import (
    SEED_PROPERTIES,
    VIEWPORTS,
    assert_accessible,
    book_by_api,
    free_dates,
    log_in,
    open_booking,
    open_property,
    property_card,
    register_by_api,
    shot,
    signed_in,
    submit_booking,
    unique_user,
)
from tests.support.etl import run_cli

pytestmark = pytest.mark.browser


def api_token(site: str, email: str, password: str) -> str:
    response = requests.post(
        f"{site}/api/users/login", json={"email": email, "password": password}, timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()["token"]


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_guest_journey_search_detail_calendar_login_book_history_cancel(open_page, site, viewport) -> None:
    page = open_page(*VIEWPORTS[viewport])
    expect(page.get_by_role("heading", name="Find a place to stay", level=1)).to_be_visible()
    for name in SEED_PROPERTIES:
        expect(property_card(page, name)).to_be_visible()
    assert_accessible(page, "search")
    shot(page, f"{viewport}-01-search")

    user = unique_user("guest")
    register_by_api(site, user)
    start, end = free_dates(3)
    page.get_by_label("Location").fill("malibu")
    page.get_by_label("Check-in").fill(start)
    page.get_by_label("Check-out").fill(end)
    page.get_by_role("button", name="Search").click()
    expect(property_card(page, "Downtown Penthouse")).to_have_count(0)
    expect(property_card(page, "Oceanfront Luxury Villa")).to_be_visible()

    page.locator("#property-list").get_by_role("link", name="Oceanfront Luxury Villa").click()
    expect(page.get_by_role("heading", name="Oceanfront Luxury Villa", level=1)).to_be_visible()
    expect(page.locator("#description")).to_be_visible()
    expect(page.locator("#capacity")).to_be_visible()
    expect(page.locator(f"#calendar [data-day='{start}']")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#price-preview")).to_have_text("3 nights × $450 = $1,350")
    expect(page.locator("#price-breakdown")).to_contain_text("Total")
    assert_accessible(page, "property")
    shot(page, f"{viewport}-02-property")

    page.get_by_role("button", name="Log in to book").click()
    expect(page.locator("#login-alert")).to_have_text("Log in to book this stay.")
    assert_accessible(page, "login")
    page.get_by_label("Email").fill(user["email"])
    page.get_by_label("Password").fill(user["password"])
    page.get_by_label("Password").press("Enter")
    expect(page.get_by_role("heading", name="Oceanfront Luxury Villa", level=1)).to_be_visible()
    expect(page.locator("#price-preview")).to_have_text("3 nights × $450 = $1,350")
    submit_booking(page)
    expect(page.locator("#booking-confirmation")).to_contain_text("total $1,350")
    expect(page.locator("#booking-confirmation")).to_contain_text("Booking #")
    shot(page, f"{viewport}-03-booked")

    page.get_by_role("button", name="View my bookings").click()
    row = page.locator("#upcoming-table tbody tr").filter(has_text="Oceanfront Luxury Villa")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(f"{start} → {end}")
    expect(row).to_contain_text("✓ Confirmed")
    expect(row.locator("td").first).to_have_text(f"#{row.get_attribute('data-booking-id')}")
    assert_accessible(page, "bookings")
    shot(page, f"{viewport}-04-bookings")

    row.get_by_role("button", name="Cancel").click()
    page.locator("#confirm-dialog").get_by_role("button", name="Cancel booking").click()
    expect(page.locator(".toast").filter(has_text="Booking cancelled successfully")).to_be_visible()
    assert_toasts_cover_no_control(page)
    past = page.locator("#past-table tbody tr").filter(has_text="Oceanfront Luxury Villa")
    expect(past).to_contain_text("✕ Cancelled")
    expect(past.get_by_role("button", name="Cancel")).to_have_count(0)
    expect(row).to_have_count(0)
    assert_fits(page, f"{viewport} bookings")


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_host_journey_become_host_create_listing_see_a_guests_booking_and_earnings(
    open_page, site, viewport
) -> None:
    page = open_page(*VIEWPORTS[viewport])
    signed_in(page, site, "host")
    page.get_by_role("link", name="Account").click()
    assert_accessible(page, "account")
    shot(page, f"{viewport}-05-account")
    page.get_by_role("button", name="Become a host").click()
    expect(page.get_by_role("heading", name="Hosting", level=1)).to_be_visible()
    expect(page.locator("#host-alert")).to_contain_text("You are a host now")

    town = f"Hostville {uuid.uuid4().hex[:6]}"
    listing = f"Loft in {town}"
    form = page.locator("#create-listing")
    form.get_by_label("Name").fill(listing)
    form.get_by_label("Location").fill(town)
    form.get_by_label("Price per night").fill("120")
    form.get_by_label("Max guests").fill("4")
    form.get_by_label("Description").fill("Bright loft with a balcony.")
    form.get_by_role("button", name="Create listing").click()
    card = page.locator("#my-listings li").filter(has_text=listing)
    expect(card).to_be_visible(timeout=15_000)
    property_id = int(card.get_attribute("data-property-id"))
    card.get_by_label("Add photo").set_input_files(
        {"name": "loft.png", "mimeType": "image/png", "buffer": listing_photo()}
    )
    expect(page.locator(".toast").filter(has_text=f"Photo added to {listing}")).to_be_visible()
    thumb = card.get_by_role("img", name=f"Photo 1 of {listing}")
    expect(thumb).to_be_visible()
    assert thumb.evaluate("img => img.complete && img.naturalWidth") == 480  # served by nginx

    guest = unique_user("hguest")
    register_by_api(site, guest)
    token = api_token(site, guest["email"], guest["password"])
    start, end = free_dates(2)
    me = requests.get(f"{site}/api/users/profile", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    body = {
        "userId": me.json()["id"],
        "propertyId": property_id,
        "startDate": start,
        "endDate": end,
        "guests": 3,
    }
    booked = requests.post(
        f"{site}/api/bookings/book", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert booked.status_code == 201, booked.text

    page.reload()
    expect(page.locator("#host-bookings-table")).to_contain_text(f"{start} → {end}")
    expect(page.locator("#earnings-table")).to_contain_text(start[:7])
    expect(page.locator("#host-earnings svg.chart")).to_be_visible()
    assert_accessible(page, "hosting")
    shot(page, f"{viewport}-06-hosting")

    row = page.locator("#host-bookings-table tbody tr").filter(has_text=f"{start} → {end}")
    row.get_by_role("button", name="Cancel").click()
    page.locator("#confirm-dialog").get_by_role("button", name="Cancel booking").click()
    expect(page.locator(".toast").filter(has_text="Booking cancelled successfully")).to_be_visible()
    expect(row).to_contain_text("✕ Cancelled")
    guest_view = requests.get(
        f"{site}/api/bookings/mine", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert [b["status"] for b in guest_view.json()] == ["cancelled"]

    page.goto("/#/properties")
    page.get_by_label("Location").fill(town)
    page.get_by_label("Guests").fill("5")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#result-count")).to_contain_text("No property matches")
    page.get_by_label("Guests").fill("4")
    page.get_by_role("button", name="Search").click()
    expect(property_card(page, listing)).to_be_visible()
    expect(property_card(page, listing).get_by_role("img", name=f"Photo of {listing}")).to_be_visible()


@pytest.fixture(scope="module")
def warehouse_with_bookings(stack, sources) -> None:
    """Bookings over 13 months of 2025-26 in MariaDB, loaded by a real ETL run, so the chart has data."""
    sources.add_bookings([sources.add_property(120), sources.add_property(300)], 60, seed=2026)
    result = run_cli(stack, "run")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_admin_journey_roles_bookings_and_reports(open_page, site, viewport, warehouse_with_bookings) -> None:
    member = unique_user("member")
    register_by_api(site, member)
    page = open_page(*VIEWPORTS[viewport])
    log_in(page, DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD)  # created by the launcher in every stack
    page.get_by_role("link", name="Admin").click()
    page.get_by_label("Search", exact=True).fill(member["username"])
    page.get_by_role("button", name="Search", exact=True).click()
    row = page.locator("#users-table tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(member["email"])
    row.get_by_label(f"Role of {member['username']}").select_option("host")
    expect(page.locator(".toast").filter(has_text=f"{member['username']} is now a host")).to_be_visible()
    assert_accessible(page, "admin")
    shot(page, f"{viewport}-07-admin")

    page.get_by_role("link", name="Reports: occupancy and revenue").click()
    expect(page.get_by_role("heading", name="Reports", level=1)).to_be_visible()
    chart = page.locator("#report svg.chart")
    expect(chart).to_be_visible()
    ticks = chart.locator("text").all_text_contents()
    months = sorted(t for t in ticks if len(t) == 7 and t[4] == "-")
    assert len(months) >= 2 and months == sorted(set(months))  # calendar months in order, no categories
    expect(page.locator("#report-table tbody tr").first).to_be_visible()
    assert_accessible(page, "reports")
    shot(page, f"{viewport}-08-reports")


def test_calendar_disables_booked_and_past_nights_and_prices_no_past_dates(open_page, site) -> None:
    page = open_page()
    signed_in(page, site)
    today = dt.date.today()
    booked_start = today + dt.timedelta(days=2)
    booker = unique_user("cal")
    register_by_api(site, booker)
    token = api_token(site, booker["email"], booker["password"])
    me = requests.get(f"{site}/api/users/profile", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    listing = {"name": f"Calendar cabin {uuid.uuid4().hex[:6]}", "location": "Testville", "pricePerNight": 70}
    admin = api_token(site, DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD)
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


COVERED_CONTROLS = """() => {
  const toasts = [...document.querySelectorAll('.toast')].map((t) => t.getBoundingClientRect());
  const hit = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  return [...document.querySelectorAll('main button, main a, main input, main select, header button, header a')]
    .filter((c) => c.offsetParent !== null && toasts.some((t) => hit(t, c.getBoundingClientRect())))
    .map((c) => c.textContent.trim() || c.getAttribute('aria-label'));
}"""


def assert_toasts_cover_no_control(page: Page) -> None:
    assert page.evaluate(COVERED_CONTROLS) == [], "a notification covers a control"


def assert_fits(page: Page, what: str) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{what} is {overflow}px wider than the screen"


def listing_photo() -> bytes:
    """A photo made for the test (Pillow), as a host would pick it in the file dialog."""
    out = io.BytesIO()
    Image.new("RGB", (900, 600), "#4a90a4").save(out, "PNG")
    return out.getvalue()
