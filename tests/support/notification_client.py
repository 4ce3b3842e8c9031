"""A small synchronous notification client over python-socketio, for tests and benches (no service uses it).

It records every event it receives so a caller can wait for a given one:

    client = NotificationClient.connect(url, token)
    client.request("get-notification", {"property_id": 2}, "notification_response")

It remembers the last notification id seen per property (from `notification_update` and join_response's
`lastId`), and `rejoin_on_reconnect` sends it as join-room's `after`, so the server replays what was
published while the client was away. Reconnection (when enabled) starts after 0.1 s.

The token travels in the Socket.IO `auth` payload (or an `Authorization` header passed in `headers`),
never in the URL, where proxies and servers log it: the server refuses a `token` query parameter.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import socketio

Predicate = Callable[[Any], bool]


@dataclass
class Received:
    event: str
    data: Any
    at: float = field(default_factory=time.perf_counter)


class NotificationClient:
    """Wraps `socketio.Client`; `received` is the ordered log of (event, data, perf_counter time)."""

    def __init__(self, *, reconnection: bool = False) -> None:
        self.sio = socketio.Client(
            reconnection=reconnection,
            reconnection_delay=0.1,
            reconnection_delay_max=1,
            randomization_factor=0.05,  # seconds here (python-socketio adds it), not a fraction
        )
        self.received: list[Received] = []
        self.last_ids: dict[int, str] = {}  # property id -> newest notification id seen
        self._changed = threading.Condition()
        self.sio.on("*", self._record)

    @classmethod
    def connect(
        cls,
        url: str,
        token: str | None = None,
        *,
        transports: Sequence[str] | None = None,
        reconnection: bool = False,
        socketio_path: str = "socket.io",
        **options: Any,
    ) -> NotificationClient:
        if "token" in parse_qs(urlsplit(url).query, keep_blank_values=True):
            raise ValueError("pass the token as `token`, not in the URL")
        client = cls(reconnection=reconnection)
        auth = {"token": token} if token is not None else None
        client.sio.connect(
            url,
            auth=auth,
            transports=list(transports) if transports else None,
            socketio_path=socketio_path,
            wait_timeout=10,
            **options,
        )
        return client

    def rejoin_on_reconnect(self, property_ids: Sequence[int]) -> None:
        """After every later (re)connection, join these rooms again; subscriptions live in Redis."""

        def rejoin() -> None:
            for property_id in property_ids:
                after = self.last_ids.get(property_id)
                extra = {"after": after} if after else {}
                self.sio.emit("join-room", {"property_id": property_id, **extra})

        self.sio.on("connect", rejoin)

    def _record(self, event: str, data: Any = None) -> None:
        with self._changed:
            self.received.append(Received(event, data))
            self._remember_position(event, data)
            self._changed.notify_all()

    def _remember_position(self, event: str, data: Any) -> None:
        if not isinstance(data, dict) or not isinstance(data.get("propertyId"), int):
            return
        seen = data.get("id") if event == "notification_update" else data.get("lastId")
        if isinstance(seen, str) and event in ("notification_update", "join_response"):
            known = self.last_ids.get(data["propertyId"])
            if known is None or _order(seen) > _order(known):
                self.last_ids[data["propertyId"]] = seen

    def events(self, event: str) -> list[Any]:
        with self._changed:
            return [item.data for item in self.received if item.event == event]

    def wait_for(
        self, event: str, predicate: Predicate | None = None, timeout: float = 5.0, after: int = 0
    ) -> Any:
        """The first `event` (from index `after` of the log) whose data satisfies `predicate`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for item in self.received[after:]:
                    if item.event == event and (predicate is None or predicate(item.data)):
                        return item.data
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no {event!r} within {timeout}s; got {self.received[after:]!r}")
                self._changed.wait(remaining)

    def request(self, event: str, payload: Any, reply_event: str, timeout: float = 5.0) -> Any:
        """Emit `event` and return the next `reply_event` received after it."""
        with self._changed:
            mark = len(self.received)
        self.sio.emit(event, payload)
        return self.wait_for(reply_event, timeout=timeout, after=mark)

    def message(self, event: str, payload: Any, reply_event: str, timeout: float = 5.0) -> str:
        return self.request(event, payload, reply_event, timeout)["message"]

    def mark(self) -> int:
        with self._changed:
            return len(self.received)

    def close(self) -> None:
        self.sio.disconnect()


def _order(notification_id: str) -> tuple[int, ...]:
    return tuple(int(part) for part in notification_id.split("-"))
