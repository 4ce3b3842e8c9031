"""Browser-test support: Debian's Chromium under Playwright, page fixtures and journey helpers.

Registered as a pytest plugin in tests/conftest.py. Chromium is installed with apt when missing, never
downloaded by `playwright install`. Screenshots go to tests/output/frontend/.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import random
import shutil
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, Page, expect, sync_playwright

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
# axe-core from npm (frontend/package.json), copied here by `npm run vendor`: the page never serves it.
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
VIEWPORTS = {"desktop": (1280, 800), "mobile": (390, 844)}
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


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One Chromium for the whole run; each test gets fresh contexts (`open_page`)."""
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


def axe_violations(page: Page, impacts: tuple[str, ...] = ("serious", "critical")) -> list[str]:
    """WCAG 2.1 A/AA violations axe-core finds in the page as it is now, at the given impacts."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated over the DevTools protocol, so the page's own CSP (nginx sends one) does not block it.
        page.evaluate(AXE.read_text() + "\n;undefined")
    options = {"runOnly": {"type": "tag", "values": WCAG_21_AA}}
    result = page.evaluate("options => axe.run(document, options)", options)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in impacts
    ]


def assert_accessible(page: Page, view: str) -> None:
    expect(page.locator("[aria-busy=true]")).to_have_count(0)
    violations = axe_violations(page)
    assert violations == [], f"{view}: serious/critical WCAG 2.1 AA violations: {violations}"


def shot(page: Page, name: str, *, full_page: bool = True) -> None:
    # Modal dialogs are fixed to the viewport: capture only the viewport for them.
    page.screenshot(path=OUTPUT / f"{name}.png", full_page=full_page)


def unique_user(prefix: str = "fe") -> dict[str, str]:
    tag = uuid.uuid4().hex[:10]
    return {"username": f"{prefix}_{tag}", "email": f"{prefix}_{tag}@example.com", "password": PASSWORD}


FREE_NIGHTS = range(400, 720)  # the end of the 730-day booking horizon; other suites book earlier nights
_free_night_lock = threading.Lock()
_next_free_night = random.randrange(len(FREE_NIGHTS))


def free_dates(nights: int) -> tuple[str, str]:
    """A window of nights that no other call of this run gets, so tests sharing the stack never collide."""
    global _next_free_night
    with _free_night_lock:
        first, _next_free_night = _next_free_night, _next_free_night + nights + 1
    offset = FREE_NIGHTS.start + first % (len(FREE_NIGHTS) - nights)
    start = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=offset)
    return start.isoformat(), (start + dt.timedelta(days=nights)).isoformat()


def api_login(site: str, email: str, password: str) -> str:
    response = requests.post(
        f"{site}/api/users/login", json={"email": email, "password": password}, timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()["token"]


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
    expect(page.get_by_role("heading", name="Find a place to stay", level=1)).to_be_visible()
    expect(page.locator("#live-status")).to_have_attribute("data-state", "online")
    return user


def property_card(page: Page, name: str):
    return page.locator("li.property").filter(has=page.get_by_role("heading", name=name, exact=True))


def open_property(page: Page, name: str) -> None:
    page.goto("/#/properties")
    page.locator("#property-list").get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()


def open_booking(page: Page, name: str, start: str, end: str) -> None:
    open_property(page, name)
    form = page.locator("#booking-form")
    form.get_by_label("Check-in").fill(start)
    form.get_by_label("Check-out").fill(end)


def submit_booking(page: Page) -> None:
    page.locator("#booking-form").get_by_role("button", name="Book now").click()


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
