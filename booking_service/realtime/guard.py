"""Engine.IO-level protections of the Socket.IO process, for every session of one server.

- Authentication deadline: an Engine.IO session without an authenticated Socket.IO connection is closed
  `auth_deadline` seconds after it opened (or after its connection ended), so a client that never sends
  CONNECT, or keeps sending refused ones, cannot hold a slot of the one gevent worker.
- Event budget: every Socket.IO packet a session sends (events, CONNECTs, acks) spends one token of
  its bucket (`ratelimit.EventBudget`) before anything is decoded past its first bytes. A refused seed
  event is answered with the seed's "Error" on its reply event; a session that keeps flooding is closed,
  and its user may not connect to this instance again for `FLOOD_PENALTY_SECONDS` (else every
  reconnect would bring a fresh burst).
- Token expiry: an authenticated connection is disconnected when its token's `exp` passes.

Closing never waits for the client to read: a silent or flooding client would never let it finish
(`transport.py` then stops reading a closed WebSocket). Hooks python-socketio's Engine.IO handlers
through `eio.on` (public API), calling the originals.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import engineio
from flask_socketio import SocketIO

from booking_service.realtime import metrics
from booking_service.realtime.deadlines import Deadlines
from booking_service.realtime.ratelimit import EventBudget

log = logging.getLogger(__name__)
NAMESPACE = "/"
TICK_SECONDS = 0.1
FLOOD_PENALTY_SECONDS = 10.0
# A Socket.IO EVENT packet on the default namespace: `2`, an optional ack id, then `["name"`.
_EVENT_NAME = re.compile(r'2(?:/,)?[0-9]{0,20}\["([A-Za-z_-]{1,40})"')


def event_name(packet: Any) -> str | None:
    """The event a Socket.IO packet carries, read from its first bytes (the rest is never decoded)."""
    match = _EVENT_NAME.match(packet) if isinstance(packet, str) else None
    return match.group(1) if match else None


@dataclass(frozen=True)
class GuardLimits:
    auth_deadline: float
    events_per_second: float
    event_burst: int
    flood_refusals: int


@dataclass
class _Session:
    budget: EventBudget
    sid: str | None = None  # the authenticated Socket.IO connection, once there is one
    user_id: int | None = None


class ConnectionGuard:
    def __init__(
        self,
        socketio: SocketIO,
        limits: GuardLimits,
        replies: Mapping[str, str],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._server = socketio.server
        self._eio: engineio.Server = socketio.server.eio
        self._limits = limits
        self._replies = replies  # seed event → the event its "Error" goes back on
        self._clock = clock
        self._sessions: dict[str, _Session] = {}  # by Engine.IO sid
        self._eio_of: dict[str, str] = {}  # authenticated Socket.IO sid → Engine.IO sid
        self._barred: set[int] = set()  # users whose connection was closed for flooding, for a while
        self._deadlines = Deadlines(self._server.start_background_task, clock)
        self._ticking = False

    def install(self) -> None:
        handlers = self._eio.handlers
        opened, message, closed = handlers["connect"], handlers["message"], handlers["disconnect"]

        def on_connect(eio_sid: str, environ: dict[str, Any], *rest: Any) -> Any:
            self._opened(eio_sid)
            accepted = opened(eio_sid, environ, *rest)
            if accepted is not False:
                metrics.CLIENTS.inc()
            return accepted

        def on_message(eio_sid: str, data: Any) -> Any:
            if self._admit(eio_sid, data):
                return message(eio_sid, data)
            return None

        def on_disconnect(eio_sid: str, *rest: Any) -> Any:
            try:
                return closed(eio_sid, *rest)
            finally:
                self._forget(eio_sid)
                metrics.CLIENTS.dec()

        self._eio.on("connect", on_connect)
        self._eio.on("message", on_message)
        self._eio.on("disconnect", on_disconnect)

    # ---- called by the event handlers -----------------------------------------------------------------
    def barred(self, user_id: int) -> bool:
        return user_id in self._barred

    def authenticated(self, sid: str, user_id: int, expires_at: float) -> None:
        """The connection `sid` of `user_id` presented a token valid until `expires_at` (epoch seconds)."""
        eio_sid = self._server.manager.eio_sid_from_sid(sid, NAMESPACE)
        session = self._sessions.get(eio_sid) if eio_sid else None
        if session is None:
            return
        session.sid, session.user_id = sid, user_id
        self._eio_of[sid] = eio_sid
        self._deadlines.cancel(("auth", eio_sid))
        self._deadlines.set(("exp", sid), expires_at - time.time(), lambda: self._expired(sid))

    def released(self, sid: str) -> None:
        """The connection `sid` ended; its Engine.IO session, if it stays open, gets a new deadline."""
        self._deadlines.cancel(("exp", sid))
        eio_sid = self._eio_of.pop(sid, None)
        session = self._sessions.get(eio_sid) if eio_sid else None
        if session is None or session.sid != sid:
            return
        session.sid = None
        socket = self._eio.sockets.get(eio_sid)
        if socket is not None and not (socket.closing or socket.closed):
            self._arm_auth_deadline(eio_sid)

    # ---- Engine.IO session lifecycle ------------------------------------------------------------------
    def _opened(self, eio_sid: str) -> None:
        limits = self._limits
        budget = EventBudget(
            limits.events_per_second, limits.event_burst, limits.flood_refusals, self._clock()
        )
        self._sessions[eio_sid] = _Session(budget)
        self._arm_auth_deadline(eio_sid)
        if not self._ticking:  # started by the first client, inside the serving worker
            self._ticking = True
            self._server.start_background_task(self._deadlines.run_forever, self._server.sleep, TICK_SECONDS)

    def _forget(self, eio_sid: str) -> None:
        session = self._sessions.pop(eio_sid, None)
        self._deadlines.cancel(("auth", eio_sid))
        if session is not None and session.sid is not None:
            self._deadlines.cancel(("exp", session.sid))
            self._eio_of.pop(session.sid, None)

    def _arm_auth_deadline(self, eio_sid: str) -> None:
        self._deadlines.set(
            ("auth", eio_sid), self._limits.auth_deadline, lambda: self._unauthenticated(eio_sid)
        )

    def _unauthenticated(self, eio_sid: str) -> None:
        session = self._sessions.get(eio_sid)
        if session is not None and session.sid is None:
            log.debug(  # not info: an attacker could make it a log flood
                "socket session closed: no authenticated connection within %ss", self._limits.auth_deadline
            )
            self._close(eio_sid)

    def _expired(self, sid: str) -> None:
        self.end(sid, "its token expired")

    def end(self, sid: str, why: str) -> None:
        """Disconnects an authenticated connection (token expired or revoked)."""
        eio_sid = self._eio_of.get(sid)
        if eio_sid is not None:
            log.info("socket connection closed: %s", why)
            self._server.disconnect(sid, namespace=NAMESPACE, ignore_queue=True)
            self._close(eio_sid)

    # ---- event budget ---------------------------------------------------------------------------------
    def _admit(self, eio_sid: str, data: Any) -> bool:
        session = self._sessions.get(eio_sid)
        if session is None:
            metrics.DROPPED.labels("closed").inc()
            return False  # closed by us: whatever is still in flight is dropped unread
        if session.budget.allow(self._clock()):
            return True
        metrics.DROPPED.labels("over_budget").inc()
        if session.budget.flooding:
            log.warning("socket session of user %s closed: it kept sending past its budget", session.user_id)
            if session.user_id is not None:
                self._bar(session.user_id)
            if session.sid is not None:
                self._server.disconnect(session.sid, namespace=NAMESPACE, ignore_queue=True)
            self._close(eio_sid)
            return False
        reply = self._replies.get(event_name(data) or "")
        if reply is not None and session.sid is not None:
            self._server.emit(
                reply, {"message": "Error"}, to=session.sid, namespace=NAMESPACE, ignore_queue=True
            )
        return False

    def _bar(self, user_id: int) -> None:
        self._barred.add(user_id)
        self._deadlines.set(("barred", user_id), FLOOD_PENALTY_SECONDS, lambda: self._barred.discard(user_id))

    def _close(self, eio_sid: str) -> None:
        self._sessions.pop(eio_sid, None)  # from now on its messages are dropped
        socket = self._eio.sockets.get(eio_sid)
        if socket is not None:
            socket.close(wait=False, reason=self._eio.reason.SERVER_DISCONNECT)
