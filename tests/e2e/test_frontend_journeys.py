"""The web app in a real Chromium against the full real stack behind nginx (nothing mocked): the guest,
host and admin journeys of issue #20 at 1280×800 and 390×844, each view checked by axe-core for serious or
critical WCAG 2.1 AA violations. The single views (calendar, search, keyboard, CSP, small screens) are in
test_frontend_views.py.
"""

from __future__ import annotations

import io
import uuid

import pytest
import requests
from PIL import Image
from playwright.sync_api import expect

from infra.services import DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD
from tests.support.browser import (
    SEED_PROPERTIES,
    VIEWPORTS,
    api_login,
    assert_accessible,
    assert_fits,
    assert_toasts_cover_no_control,
    free_dates,
    log_in,
    property_card,
    register_by_api,
    shot,
    signed_in,
    submit_booking,
    unique_user,
)
from tests.support.etl import run_cli

pytestmark = pytest.mark.browser


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
    token = api_login(site, guest["email"], guest["password"])
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


def listing_photo() -> bytes:
    """A photo made for the test (Pillow), as a host would pick it in the file dialog."""
    out = io.BytesIO()
    Image.new("RGB", (900, 600), "#4a90a4").save(out, "PNG")
    return out.getvalue()
