"""`/api/docs` in a real Chromium through nginx (issue #20 item 7): the try-it form sends header parameters
such as `Idempotency-Key`, and the generated booking example is a valid booking as it stands."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from playwright.sync_api import expect

from infra.services import DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD
from tests.support.browser import api_login

pytestmark = pytest.mark.browser


def test_try_it_books_with_the_generated_example_and_an_idempotency_key(open_page, site) -> None:
    page = open_page()
    page.goto("/api/docs")
    path = page.locator(".path").filter(has_text=re.compile(r"^/api/bookings/book$"))
    operation = page.locator("details.op").filter(has=path)
    operation.locator("summary").click()
    body = operation.locator(".try textarea")
    example = json.loads(body.input_value())
    start, end = dt.date.fromisoformat(example["startDate"]), dt.date.fromisoformat(example["endDate"])
    assert dt.date.today() < start < end <= dt.date.today() + dt.timedelta(days=730)

    page.locator("#token").fill(api_login(site, DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD))
    body.fill(json.dumps({**example, "propertyId": 4, "startDate": "2000-01-01"}))
    operation.get_by_placeholder("header Idempotency-Key").fill("x" * 256)  # over the documented 255
    sent: list[dict[str, str]] = []
    page.on("request", lambda r: sent.append(r.headers) if r.url.endswith("/api/bookings/book") else None)
    operation.get_by_role("button", name="Send").click()
    expect(operation.locator(".try pre")).to_contain_text("400")
    assert sent and sent[-1].get("idempotency-key") == "x" * 256
