"""The one table that turns an upstream failure into the client's response."""

from __future__ import annotations

from enum import Enum

from common.errors import ApiError


class UpstreamFailure(Enum):
    NO_INSTANCE = "no healthy instance registered"
    ALL_OPEN = "every instance's circuit breaker is open"
    CONNECT = "could not connect (request not sent)"
    TIMEOUT = "no response within the read timeout"
    BROKEN = "connection broke or the response was malformed"


# failure -> (status, message, extra headers)
FAILURE_RESPONSES: dict[UpstreamFailure, tuple[int, str, dict[str, str]]] = {
    UpstreamFailure.NO_INSTANCE: (503, "Service unavailable", {"Retry-After": "1"}),
    UpstreamFailure.ALL_OPEN: (503, "Service unavailable", {"Retry-After": "1"}),
    UpstreamFailure.CONNECT: (503, "Service unavailable", {"Retry-After": "1"}),
    UpstreamFailure.TIMEOUT: (504, "Upstream service timed out", {}),
    UpstreamFailure.BROKEN: (502, "Bad gateway", {}),
}


class UpstreamError(Exception):
    def __init__(self, failure: UpstreamFailure, service: str) -> None:
        super().__init__(f"{service}: {failure.value}")
        self.failure = failure
        self.service = service

    def to_api_error(self) -> ApiError:
        status, message, headers = FAILURE_RESPONSES[self.failure]
        return ApiError(message, status, headers=headers)
