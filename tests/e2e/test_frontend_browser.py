"""The web frontend in a real Chromium against the full real stack behind nginx (nothing mocked).

Debian's /usr/bin/chromium driven by Playwright for Python; installed with apt when missing, never
downloaded by `playwright install`. Screenshots of every view go to tests/output/frontend/.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import random
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, Page, expect, sync_playwright

from infra.services import DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REPO = Path(__file__).resolve().parents[2]
OUTPUT = REPO / "tests" / "output" / "frontend"
SEED_PROPERTIES = [
    "Modern City Apartment",
    "Oceanfront Luxury Villa",
    "Rustic Mountain Cabin",
    "Charming Country Cottage",
    "Downtown Penthouse",
]
PASSWORD = "correct-horse-42"


def ensure_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        pytest.fail(f"{CHROMIUM} is missing; install Debian's package: apt-get install -y chromium")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "chromium"]
    if subprocess.run(install, env=env, capture_output=True, timeout=600).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, check=True, capture_output=True, timeout=600)
        subprocess.run(install, env=env, check=True, capture_output=True, timeout=600)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    ensure_chromium()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def site(stack) -> str:
    return stack.nginx_url


@pytest.fixture
def open_page(browser: Browser, site: str) -> Iterator[Callable[..., Page]]:
    """Opens pages in fresh contexts; any uncaught script error fails the test."""
    contexts, errors = [], []

    def _open(width: int = 1280, height: int = 900) -> Page:
        # Reduced motion: toasts appear without their fade-in, so screenshots are crisp.
        viewport = {"width": width, "height": height}
        context = browser.new_context(viewport=viewport, base_url=site, reduced_motion="reduce")
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto("/")
        return page

    yield _open
    for context in contexts:
        context.close()
    assert errors == [], f"uncaught errors in the page: {errors}"


def shot(page: Page, name: str, *, full_page: bool = True) -> None:
    # Modal dialogs are fixed to the viewport: capture only the viewport for them.
    page.screenshot(path=OUTPUT / f"{name}.png", full_page=full_page)


def unique_user(prefix: str = "fe") -> dict[str, str]:
    tag = uuid.uuid4().hex[:10]
    return {"username": f"{prefix}_{tag}", "email": f"{prefix}_{tag}@example.com", "password": PASSWORD}


def free_dates(nights: int) -> tuple[str, str]:
    """A far-future window, random per call, so tests sharing the stack never collide."""
    start = dt.date.today() + dt.timedelta(days=random.randrange(400, 3000))
    return start.isoformat(), (start + dt.timedelta(days=nights)).isoformat()


def register_by_api(site: str, user: dict[str, str]) -> None:
    response = requests.post(f"{site}/api/users/register", json=user, timeout=10)
    assert response.status_code == 201, response.text


def book_by_api(page: Page, site: str, property_id: int) -> None:
    """Books as the page's signed-in user, straight through nginx, with the page's own token."""
    token = page.evaluate("sessionStorage.getItem('hrp.token')")
    payload = token.split(".")[1]
    user_id = int(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"])
    start, end = free_dates(2)
    body = {"userId": user_id, "propertyId": property_id, "startDate": start, "endDate": end}
    headers = {"Authorization": f"Bearer {token}"}
    response = requests.post(f"{site}/api/bookings/book", json=body, headers=headers, timeout=10)
    assert response.status_code == 201, response.text


def log_in(page: Page, email: str, password: str) -> None:
    page.goto("/#/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_label("Password").press("Enter")


def signed_in(page: Page, site: str, prefix: str = "fe") -> dict[str, str]:
    user = unique_user(prefix)
    register_by_api(site, user)
    log_in(page, user["email"], user["password"])
    expect(page.get_by_role("heading", name="Properties", level=1)).to_be_visible()
    expect(page.locator("#live-status")).to_have_attribute("data-state", "online")
    return user


def property_card(page: Page, name: str):
    return page.locator("li.property").filter(has=page.get_by_role("heading", name=name, exact=True))


def open_booking(page: Page, name: str, start: str, end: str) -> None:
    page.goto("/#/properties")
    page.get_by_role("button", name=f"Book {name}", exact=True).click()
    dialog = page.locator("#booking-dialog")
    dialog.get_by_label("Check-in").fill(start)
    dialog.get_by_label("Check-out").fill(end)


def submit_booking(page: Page) -> None:
    page.locator("#booking-dialog").get_by_role("button", name="Confirm booking").click()


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


def test_wrong_password_shows_the_server_message(open_page, site) -> None:
    page = open_page()
    user = unique_user()
    register_by_api(site, user)
    log_in(page, user["email"], "not-the-password")
    expect(page.locator("#login-alert")).to_have_text("Invalid credentials")
    expect(page.get_by_role("heading", name="Log in", level=1)).to_be_visible()
    shot(page, "08-login-error")


def test_registering_twice_shows_conflict(open_page, site) -> None:
    page = open_page()
    user = unique_user()
    register_by_api(site, user)
    page.goto("/#/register")
    for label in ("Username", "Email", "Password"):
        page.get_by_label(label).fill(user[label.lower()])
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#register-alert")).to_have_text("User already exists")


def test_overlapping_booking_shows_conflict(open_page, site) -> None:
    page = open_page()
    signed_in(page, site)
    start, end = free_dates(4)
    open_booking(page, "Modern City Apartment", start, end)
    submit_booking(page)
    expect(page.locator("#booking-confirmation")).to_be_visible()
    page.keyboard.press("Escape")

    overlap_start = (dt.date.fromisoformat(start) + dt.timedelta(days=2)).isoformat()
    overlap_end = (dt.date.fromisoformat(end) + dt.timedelta(days=2)).isoformat()
    open_booking(page, "Modern City Apartment", overlap_start, overlap_end)
    submit_booking(page)
    alert = page.locator("#booking-alert")
    expect(alert).to_contain_text("Dates already taken")
    expect(page.locator("#booking-confirmation")).to_have_count(0)
    shot(page, "09-booking-conflict", full_page=False)


def test_unavailable_property_shows_not_found_message(open_page, site) -> None:
    page = open_page()
    signed_in(page, site)
    start, end = free_dates(2)
    open_booking(page, "Downtown Penthouse", start, end)
    expect(page.locator("#booking-dialog")).to_contain_text("marked unavailable")
    submit_booking(page)
    expect(page.locator("#booking-alert")).to_have_text("Not available: Property not found or not available")


def test_invalid_dates_are_explained_before_and_after_the_server(open_page, site) -> None:
    page = open_page()
    signed_in(page, site)
    start, _ = free_dates(1)
    before = (dt.date.fromisoformat(start) - dt.timedelta(days=1)).isoformat()
    open_booking(page, "Charming Country Cottage", start, before)
    expect(page.locator("#price-preview")).to_have_text("Check-out must be after check-in.")
    expect(page.get_by_role("button", name="Confirm booking")).to_be_disabled()

    too_long = (dt.date.fromisoformat(start) + dt.timedelta(days=400)).isoformat()
    page.locator("#booking-dialog").get_by_label("Check-out").fill(too_long)
    expect(page.locator("#price-preview")).to_have_text("400 nights × $90 = $36,000")
    submit_booking(page)
    expect(page.locator("#booking-alert")).to_contain_text("Check your dates:")
    expect(page.locator("#booking-alert")).to_contain_text("365 nights")


def test_rejected_token_ends_the_session_with_a_message(open_page, site) -> None:
    page = open_page()
    signed_in(page, site)
    header, payload, signature = page.evaluate("sessionStorage.getItem('hrp.token')").split(".")
    forged = f"{header}.{payload}.{signature[::-1]}"
    page.evaluate("token => sessionStorage.setItem('hrp.token', token)", forged)
    page.goto("/#/bookings")  # same document: the next API calls carry the forged token
    expect(page.locator("#login-alert")).to_have_text("Your session has expired. Please log in again.")
    assert page.evaluate("sessionStorage.getItem('hrp.token')") is None


def test_watcher_sees_toast_within_two_seconds_when_another_user_books(open_page, site) -> None:
    watcher, booker = open_page(), open_page()
    signed_in(watcher, site, "watcher")
    watcher.get_by_role("button", name="Watch Rustic Mountain Cabin", exact=True).click()
    bell = property_card(watcher, "Rustic Mountain Cabin").locator("button.watch")
    expect(bell).to_have_attribute("aria-pressed", "true")
    watcher.reload()  # the watch survives a reload: rooms are rejoined on the new connection
    expect(bell).to_have_attribute("aria-pressed", "true")
    expect(watcher.locator("#live-status")).to_have_attribute("data-rooms", "1")
    signed_in(booker, site, "booker")
    start, end = free_dates(3)
    open_booking(booker, "Rustic Mountain Cabin", start, end)

    clicked = time.monotonic()
    submit_booking(booker)
    toast = watcher.locator(".toast").filter(has_text="Rustic Mountain Cabin was just booked")
    expect(toast).to_be_visible(timeout=2000)
    print(f"\nbooking → watcher toast: {(time.monotonic() - clicked) * 1000:.0f} ms")
    expect(toast).to_contain_text(f"{start} → {end}")
    shot(watcher, "10-live-notification")


def test_admin_lists_users_and_broadcast_reaches_watchers(open_page, site) -> None:
    watcher = open_page()
    watcher_user = signed_in(watcher, site, "watcher")
    watcher.get_by_role("button", name="Watch Charming Country Cottage", exact=True).click()
    expect(watcher.get_by_role("button", name="Stop watching Charming Country Cottage")).to_be_visible()
    expect(watcher.get_by_role("link", name="Admin")).to_be_hidden()

    page = open_page()
    log_in(page, DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD)  # created by the launcher in every stack
    page.get_by_role("link", name="Admin").click()
    expect(page.locator("#users-table")).to_contain_text(watcher_user["email"])
    page.get_by_label("Property").select_option(label="Charming Country Cottage")
    page.get_by_label("Message").fill("Pool closed on Friday")
    page.get_by_role("button", name="Send broadcast").click()
    expect(watcher.locator(".toast").filter(has_text="Pool closed on Friday")).to_be_visible(timeout=2000)
    shot(page, "11-admin")


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
