"""Lists that reload show the answer to the latest request, whatever order the answers arrive in: the
browser holds the admin page's first, unfiltered load of users (Playwright routing, real servers behind)
until the admin's search has answered, then lets it through."""

from __future__ import annotations

import pytest
from playwright.sync_api import Route, expect

from infra.services import DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD
from tests.support.browser import log_in, register_by_api, unique_user

pytestmark = pytest.mark.browser
USERS = "/api/users/users"


def test_a_late_first_load_does_not_replace_the_search_results(open_page, site) -> None:
    member = unique_user("late")
    register_by_api(site, member)
    page = open_page()
    log_in(page, DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD)
    held: list[Route] = []

    def hold_the_unfiltered_load(route: Route) -> None:
        if "q=" not in route.request.url and not held:
            held.append(route)
        else:
            route.continue_()

    page.route(f"**{USERS}*", hold_the_unfiltered_load)
    page.get_by_role("link", name="Admin").click()
    page.get_by_label("Search", exact=True).fill(member["username"])
    page.get_by_role("button", name="Search", exact=True).click()
    rows = page.locator("#users-table tbody tr")
    expect(rows).to_have_count(1)
    assert len(held) == 1, "the first load was not held"
    with page.expect_response(lambda answer: USERS in answer.url and "q=" not in answer.url):
        held[0].continue_()
    page.wait_for_timeout(300)  # the late answer has been handed to the page's script
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text(member["email"])
