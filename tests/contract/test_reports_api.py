"""The reports app of etl_service behind the gateway (issue #20 item 4): admin-only, read-only time series
from the real warehouse after a real ETL run over real MariaDB rows. Nothing mocked."""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests

from tests.support.etl import run_cli

ADMIN_ID = 910_000_001  # a synthetic id: no real user's token version can interfere


@pytest.fixture(scope="module")
def loaded(stack, sources) -> int:
    """A property with 40 bookings in 2025, loaded into the warehouse by `python -m etl_service run`."""
    property_id = sources.add_property(price=150)
    sources.add_bookings([property_id], 40, seed=20)
    result = run_cli(stack, "run")
    assert result.returncode == 0, result.stderr
    return property_id


def get(stack, path: str, token: str | None = None, **params: str) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(f"{stack.nginx_url}{path}", params=params, headers=headers, timeout=10)


def test_reports_need_an_admin_token_at_the_edge_and_in_the_app(stack) -> None:
    assert get(stack, "/api/reports/revenue").status_code == 401
    response = get(stack, "/api/reports/revenue", stack.token(ADMIN_ID + 1, "host"))
    assert response.status_code == 403
    assert "error" in response.json()


def test_revenue_series_match_the_sources(stack, sources, loaded) -> None:
    response = get(
        stack, "/api/reports/revenue", stack.token(ADMIN_ID, "admin"), **{"from": "2024-12", "to": "2026-06"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["from"], body["to"], body["empty"]) == ("2024-12", "2026-06", False)
    mine = {p["month"]: p for p in body["series"] if p["propertyId"] == loaded}
    expected = {month: value for (_, month), value in sources.totals([loaded]).items()}
    assert {month for month, point in mine.items() if point["bookings"]} == set(
        expected
    )  # + nights-only months
    for month, (bookings, _nights, revenue, cancellations) in expected.items():
        assert (mine[month]["bookings"], Decimal(mine[month]["revenue"])) == (bookings, revenue)
        assert mine[month]["cancellations"] == cancellations
    months = [p["month"] for p in body["totals"]]
    assert months == sorted(months) and all("2024-12" <= m <= "2026-06" for m in months)


def test_occupancy_series_are_ratios_of_booked_nights(stack, loaded) -> None:
    response = get(
        stack,
        "/api/reports/occupancy",
        stack.token(ADMIN_ID, "admin"),
        **{"from": "2025-01", "to": "2025-12"},
    )
    assert response.status_code == 200
    mine = [p for p in response.json()["series"] if p["propertyId"] == loaded]
    assert mine
    for point in mine:
        assert point["occupancy"] == round(point["bookedNights"] / point["daysInMonth"], 4)
        assert "revenue" not in point


def test_a_window_without_data_says_empty(stack, loaded) -> None:
    response = get(
        stack, "/api/reports/revenue", stack.token(ADMIN_ID, "admin"), **{"from": "1990-01", "to": "1990-12"}
    )
    assert response.json() == {"from": "1990-01", "to": "1990-12", "empty": True, "totals": [], "series": []}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2025-13"}, "from must be a month as YYYY-MM"),
        ({"to": "2025"}, "to must be a month as YYYY-MM"),
        ({"from": "2026-01", "to": "2025-01"}, "from must not be after to"),
        ({"from": "1900-01", "to": "2025-01"}, "from and to must be at most 120 months apart"),
    ],
)
def test_bad_windows_are_400(stack, params: dict[str, str], message: str) -> None:
    response = get(stack, "/api/reports/occupancy", stack.token(ADMIN_ID, "admin"), **params)
    assert (response.status_code, response.json()) == (400, {"error": message})
