"""The web app's notification inbox is the server's (GET /api/bookings/notifications): a booking another
user makes on a property I watch is toasted in my tab and is in my inbox in another browser too. Real
stack and Debian Chromium; nothing is mocked."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.browser import free_dates, log_in, open_booking, open_property, signed_in, submit_booking

pytestmark = pytest.mark.browser
PROPERTY = "Rustic Mountain Cabin"


def test_another_browser_shows_the_same_inbox(open_page, site) -> None:
    watcher = open_page()
    me = signed_in(watcher, site, "inbox")
    open_property(watcher, PROPERTY)
    watcher.get_by_role("button", name=f"Watch {PROPERTY}", exact=True).click()
    expect(watcher.locator("#live-status")).to_have_attribute("data-rooms", "1")
    expect(watcher.locator("#inbox-link")).to_have_text("Notifications (0)")

    booker = open_page()
    signed_in(booker, site, "booker")
    start, end = free_dates(2)
    open_booking(booker, PROPERTY, start, end)
    submit_booking(booker)
    expect(booker.locator("#booking-confirmation")).to_be_visible()
    expect(watcher.locator(".toast").filter(has_text=f"{start} → {end}")).to_be_visible()
    expect(watcher.locator("#inbox-link")).to_have_text("Notifications (1)")

    elsewhere = open_page()  # a fresh context: no storage shared with the watcher's tab
    log_in(elsewhere, me["email"], me["password"])
    expect(elsewhere.locator("#inbox-link")).to_have_text("Notifications (1)")
    elsewhere.goto("/#/inbox")
    entry = elsewhere.locator("#inbox li")
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text(f"{start} → {end}")
    expect(booker.locator("#inbox-link")).to_have_text("Notifications (0)")  # the booker does not watch it
