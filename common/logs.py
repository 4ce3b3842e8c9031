"""ECS JSON logging to stdout, enriched with service name, request id and user id."""

from __future__ import annotations

import atexit
import collections
import logging
import os
import sys
import time
from typing import Any

import ecs_logging
import orjson

from common import tracing
from common.flusher import Flusher


class ContextFilter(logging.Filter):
    """Adds the service name, the current span's trace and span ids when tracing, and, inside a request,
    its request id and user id."""

    def __init__(self, service_name: str) -> None:
        super().__init__()
        self.service_name = service_name

    def filter(self, record: logging.LogRecord) -> bool:
        setattr(record, "service.name", self.service_name)
        ids = tracing.current_ids()
        if ids is not None:
            setattr(record, "trace.id", ids[0])
            setattr(record, "span.id", ids[1])
        flask = sys.modules.get("flask")  # CLI processes (the ETL) never import Flask just to log
        if flask is not None and flask.has_request_context():
            g = flask.g
            request_id = g.get("request_id")
            if request_id:
                setattr(record, "http.request.id", request_id)
            identity = g.get("identity")
            if identity is not None:
                setattr(record, "user.id", str(identity.user_id))
        return True


def configure_logging(service_name: str, level: str = "INFO") -> None:
    """Replace the root handlers with one ECS JSON handler on stdout (idempotent)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_hrp_ecs", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_EcsFormatter(exclude_fields=["process", "log.original"]))
    handler.addFilter(ContextFilter(service_name))
    handler._hrp_ecs = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    access = logging.getLogger(ACCESS_LOGGER)
    access.service_name = service_name  # type: ignore[attr-defined]
    for old in [h for h in access.handlers if isinstance(h, BatchedAccessHandler)]:
        old.flush()
        access.removeHandler(old)
    access.addHandler(BatchedAccessHandler(handler))
    access.propagate = False
    for noisy in ("werkzeug", "urllib3", "engineio.server", "socketio.server"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


ACCESS_LOGGER = "access"
_access_logger = logging.getLogger(ACCESS_LOGGER)  # looked up once: getLogger takes a module lock
ECS_VERSION = "1.6.0"


class _EcsFormatter(ecs_logging.StdlibFormatter):
    """Access lines arrive as finished ECS JSON (see `access_line`) and are written as they are: the
    general formatter costs more per line than a whole proxied request."""

    def format(self, record: logging.LogRecord) -> str:
        if record.name == ACCESS_LOGGER and isinstance(record.msg, str) and not record.args:
            return record.msg
        return super().format(record)


class BatchedAccessHandler(logging.Handler):
    """Access lines (finished ECS JSON, see `access_line`) are queued without a lock and written to the
    ECS handler's stream in batches every FLUSH_SECONDS by one background thread per process (a
    `Flusher`: it sleeps without waking while no line comes). Through the ECS handler each line took its
    lock across a write to a pipe, and under load request threads queued behind that lock: the biggest
    share of a cache hit's CPU in py-spy. A crash loses at most the last FLUSH_SECONDS of access lines;
    a normal exit flushes them."""

    FLUSH_SECONDS = 0.05

    def __init__(self, target: logging.StreamHandler) -> None:  # type: ignore[type-arg]
        super().__init__()
        self.target = target
        self._lines: collections.deque[str] = collections.deque()
        self._flusher = Flusher(self.flush, self._has_lines, self.FLUSH_SECONDS, "access-log")
        atexit.register(self.flush)
        os.register_at_fork(after_in_child=self._forget_parent)

    def _forget_parent(self) -> None:
        self._lines = collections.deque()  # the parent writes its own lines

    def _has_lines(self) -> bool:
        return bool(self._lines)

    def handle(self, record: logging.LogRecord) -> bool:  # type: ignore[override]
        line = record.msg if isinstance(record.msg, str) and not record.args else self.target.format(record)
        self.write(line)
        return True

    def write(self, line: str) -> None:
        self._lines.append(line)  # atomic under the GIL: no lock on the request path
        self._flusher.poke()

    def emit(self, record: logging.LogRecord) -> None:
        self.handle(record)

    def flush(self) -> None:
        lines = []
        try:
            while True:
                lines.append(self._lines.popleft())
        except IndexError:
            pass
        if not lines:
            return
        text = "\n".join(lines) + "\n"
        self.target.acquire()
        try:
            self.target.stream.write(text)
            self.target.stream.flush()
        except (OSError, ValueError):  # stdout closed at exit: nothing left to tell
            pass
        finally:
            self.target.release()


def log_access(line: str) -> None:
    """Writes one finished access line: straight into the batch when logging is configured (no log
    record, no caller lookup), else through the logger like any other line."""
    if not _access_logger.isEnabledFor(logging.INFO):
        return
    for handler in _access_logger.handlers:
        if isinstance(handler, BatchedAccessHandler):
            handler.write(line)
            return
    _access_logger.info(line)


def flush_access_lines() -> None:
    for handler in _access_logger.handlers:
        handler.flush()


def access_line(
    *,
    method: str,
    path: str,
    status: int,
    duration_ns: int,
    request_id: str,
    client_ip: str | None,
    user_id: int | None,
) -> str:
    """One access event in the ECS shape the general formatter writes (nested fields)."""
    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"
    doc: dict[str, Any] = {
        "@timestamp": stamp,
        "log.level": "info",
        "message": f"{method} {path} {status}",
        "ecs.version": ECS_VERSION,
        "log": {"logger": ACCESS_LOGGER},
        "service": {"name": getattr(_access_logger, "service_name", "service")},
        "http": {"request": {"id": request_id, "method": method}, "response": {"status_code": status}},
        "url": {"path": path},
        "client": {"ip": client_ip},
        "event": {"duration": duration_ns},
    }
    if user_id is not None:
        doc["user"] = {"id": str(user_id)}
    ids = tracing.current_ids()
    if ids is not None:
        doc["trace"], doc["span"] = {"id": ids[0]}, {"id": ids[1]}
    return orjson.dumps(doc).decode()
