"""The one manifest of public routes: method, path (OpenAPI template), owning service, whether a token is
required at the edge, and the roles allowed. The gateway's routing is compiled from it
(`gateway/routing.py`), `tests/contract/test_route_manifest.py` checks `gateway/openapi.json` and every
service's URL map against it, and the security matrices iterate it.

A new route: one line here, its handler in the service's `api.py`, its operation in `gateway/openapi.json`.
"""

from __future__ import annotations

from dataclasses import dataclass

USERS, BOOKINGS, REPORTS = "user_service", "booking_service", "etl_reports"
ANYONE: frozenset[str] = frozenset()  # with token=True: any signed-in user
ADMIN = frozenset({"admin"})
MANAGERS = frozenset({"host", "admin"})


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # `{name}` marks one path segment
    service: str
    token: bool
    roles: frozenset[str] = ANYONE
    # A larger request body than the API's default limit (`MAX_BODY_BYTES`), for this route only.
    max_body: int | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.path


def _public(method: str, path: str, service: str) -> Route:
    return Route(method, path, service, token=False)


def _signed_in(
    method: str, path: str, service: str, roles: frozenset[str] = ANYONE, max_body: int | None = None
) -> Route:
    return Route(method, path, service, token=True, roles=roles, max_body=max_body)


# An uploaded photo is at most 5 MiB (booking_service/properties/photos.py); the rest is multipart framing.
PHOTO_BODY_BYTES = 5 * 1024 * 1024 + 64 * 1024


ROUTES: tuple[Route, ...] = (
    _public("POST", "/api/users/register", USERS),
    _public("POST", "/api/users/login", USERS),
    _signed_in("POST", "/api/users/logout", USERS),
    _signed_in("POST", "/api/users/refresh", USERS),
    _signed_in("GET", "/api/users/profile", USERS),
    _signed_in("PATCH", "/api/users/profile", USERS),
    _signed_in("DELETE", "/api/users/profile", USERS),
    _signed_in("POST", "/api/users/password", USERS),
    _public("POST", "/api/users/password-reset", USERS),
    _public("POST", "/api/users/password-reset/confirm", USERS),
    _signed_in("POST", "/api/users/become-host", USERS),
    _signed_in("GET", "/api/users/allusers", USERS, ADMIN),
    _signed_in("GET", "/api/users/users", USERS, ADMIN),
    _signed_in("PATCH", "/api/users/{id}/role", USERS, ADMIN),
    _public("GET", "/api/bookings/properties", BOOKINGS),
    _signed_in("POST", "/api/bookings/properties", BOOKINGS, MANAGERS),
    _public("GET", "/api/bookings/properties/{id}", BOOKINGS),
    _signed_in("PATCH", "/api/bookings/properties/{id}", BOOKINGS, MANAGERS),
    _signed_in("DELETE", "/api/bookings/properties/{id}", BOOKINGS, MANAGERS),
    _public("GET", "/api/bookings/properties/{id}/calendar", BOOKINGS),
    _signed_in("POST", "/api/bookings/properties/{id}/blocks", BOOKINGS, MANAGERS),
    _signed_in("DELETE", "/api/bookings/properties/{id}/blocks/{blockId}", BOOKINGS, MANAGERS),
    _signed_in("POST", "/api/bookings/properties/{id}/photos", BOOKINGS, MANAGERS, max_body=PHOTO_BODY_BYTES),
    _signed_in("DELETE", "/api/bookings/properties/{id}/photos/{photoId}", BOOKINGS, MANAGERS),
    _signed_in("POST", "/api/bookings/book", BOOKINGS),
    _signed_in("GET", "/api/bookings/booking/{id}", BOOKINGS),
    _signed_in("GET", "/api/bookings/mine", BOOKINGS),
    _signed_in("DELETE", "/api/cancel-booking/{id}", BOOKINGS),
    _signed_in("GET", "/api/bookings/hosting/bookings", BOOKINGS, MANAGERS),
    _signed_in("GET", "/api/bookings/hosting/earnings", BOOKINGS, MANAGERS),
    _signed_in("GET", "/api/bookings/hosting/properties", BOOKINGS, MANAGERS),
    _signed_in("GET", "/api/bookings/watching", BOOKINGS),
    _signed_in("GET", "/api/bookings/notifications", BOOKINGS),
    _signed_in("GET", "/api/reports/occupancy", REPORTS, ADMIN),
    _signed_in("GET", "/api/reports/revenue", REPORTS, ADMIN),
)
