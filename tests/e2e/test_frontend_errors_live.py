"""The web frontend in a real Chromium against the full real stack: server errors shown, not swallowed;
live notifications between two browser contexts; the admin view (nothing mocked).
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
import requests
from playwright.sync_api import expect

from booking_service.subscriptions import SubscriptionStore, connect_redis
from infra.services import DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD
from tests.support.browser import (
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
from tests.support.data import insert_property

pytestmark = pytest.mark.browser


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


def test_unavailable_property_cannot_be_booked_from_the_page(open_page, site) -> None:
    page = open_page()
    signed_in(page, site)
    start, end = free_dates(2)
    open_booking(page, "Downtown Penthouse", start, end)
    expect(page.locator("#unavailable-note")).to_be_visible()
    expect(page.locator("#booking-form").get_by_role("button", name="Book now")).to_be_disabled()


def test_invalid_dates_are_explained_before_and_after_the_server(open_page, site) -> None:
    page = open_page()
    signed_in(page, site)
    start = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=30)).isoformat()  # +400 days: in the horizon
    before = (dt.date.fromisoformat(start) - dt.timedelta(days=1)).isoformat()
    open_booking(page, "Charming Country Cottage", start, before)
    expect(page.locator("#price-preview")).to_have_text("Check-out must be after check-in.")
    expect(page.get_by_role("button", name="Book now")).to_be_disabled()

    too_long = (dt.date.fromisoformat(start) + dt.timedelta(days=400)).isoformat()
    page.locator("#booking-form").get_by_label("Check-out").fill(too_long)
    expect(page.locator("#price-preview")).to_have_text("400 nights × $90 = $36,000")
    submit_booking(page)
    expect(page.locator("#booking-alert")).to_contain_text("Check your booking:")
    expect(page.locator("#booking-alert")).to_contain_text("365 nights")


def test_rejected_token_ends_the_session_with_a_message(open_page, site) -> None:
    page = open_page()
    signed_in(page, site)
    header, payload, signature = page.evaluate("sessionStorage.getItem('hrp.token')").split(".")
    forged = f"{header}.{payload}.{signature[::-1]}"
    page.evaluate("token => sessionStorage.setItem('hrp.token', token)", forged)
    page.goto("/#/bookings")  # same document: the next API calls carry the forged token
    expect(page.locator("#login-alert")).to_have_text(
        "Your session has ended (expired, or your role changed). Please log in again."
    )
    assert page.evaluate("sessionStorage.getItem('hrp.token')") is None


def test_watcher_sees_toast_within_two_seconds_when_another_user_books(open_page, site) -> None:
    watcher, booker = open_page(), open_page()
    signed_in(watcher, site, "watcher")
    open_property(watcher, "Rustic Mountain Cabin")
    watcher.get_by_role("button", name="Watch Rustic Mountain Cabin", exact=True).click()
    bell = watcher.locator("button.watch")
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


def test_my_own_booking_is_not_toasted_back_to_me(open_page, site) -> None:
    """Both watch the property; the other watcher's toast shows the event was delivered to the room."""
    me, other = open_page(), open_page()
    for page, prefix in ((me, "self"), (other, "other")):
        signed_in(page, site, prefix)
        open_property(page, "Modern City Apartment")
        page.get_by_role("button", name="Watch Modern City Apartment", exact=True).click()
        expect(page.locator("#live-status")).to_have_attribute("data-rooms", "1")
    start, end = free_dates(2)
    open_booking(me, "Modern City Apartment", start, end)
    submit_booking(me)
    expect(me.locator("#booking-confirmation")).to_be_visible()
    news = f"{start} → {end}"
    expect(other.locator(".toast").filter(has_text="was just booked").filter(has_text=news)).to_be_visible()
    expect(me.locator(".toast").filter(has_text="was just booked")).to_have_count(0)
    expect(me.locator("#inbox-link")).to_have_text("Notifications (0)")


def test_admin_lists_users_and_broadcast_reaches_watchers(open_page, site) -> None:
    watcher = open_page()
    watcher_user = signed_in(watcher, site, "watcher")
    open_property(watcher, "Charming Country Cottage")
    watcher.get_by_role("button", name="Watch Charming Country Cottage", exact=True).click()
    expect(watcher.get_by_role("button", name="Stop watching Charming Country Cottage")).to_be_visible()
    expect(watcher.get_by_role("link", name="Admin")).to_be_hidden()

    page = open_page()
    log_in(page, DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD)  # created by the launcher in every stack
    page.get_by_role("link", name="Admin").click()
    page.get_by_label("Search", exact=True).fill(watcher_user["email"])
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("#users-table")).to_contain_text(watcher_user["email"])
    page.get_by_label("Property").select_option(label="Charming Country Cottage")
    page.get_by_label("Message").fill("Pool closed on Friday")
    page.get_by_role("button", name="Send broadcast").click()
    expect(watcher.locator(".toast").filter(has_text="Pool closed on Friday")).to_be_visible(timeout=2000)
    shot(page, "11-admin")


def test_rejoining_many_watched_properties_stays_within_the_servers_event_budget(
    open_page, site, stack, stack_booking_db
) -> None:
    """25 watched properties are 50 events on every (re)connect, past the server's burst of 40: the page paces
    them, so every room is rejoined and no "Error" toast appears. The watch list is the server's (the
    realtime process's per-user set in Redis, read by GET /api/bookings/watching), written here directly."""
    page = open_page()
    signed_in(page, site, "many")
    token = page.evaluate("sessionStorage.getItem('hrp.token')")
    me = requests.get(f"{site}/api/users/profile", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    ids = [insert_property(stack_booking_db, "Paceville", 80, "pace") for _ in range(25)]
    store = SubscriptionStore(connect_redis(stack.env["REDIS_URL"]))
    for property_id in ids:
        store.subscribe(me.json()["id"], property_id)
    page.reload()
    expect(page.locator("#live-status")).to_have_attribute("data-rooms", "25", timeout=20_000)
    expect(page.locator(".toast").filter(has_text="Error")).to_have_count(0)
