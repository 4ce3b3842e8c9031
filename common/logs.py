"""ECS JSON logging to stdout, enriched with service name, request id and user id."""

from __future__ import annotations

import logging
import sys

import ecs_logging

SENSITIVE_KEYS = ("password", "token", "secret", "authorization", "hash")


class ContextFilter(logging.Filter):
    """Adds the service name and, inside a request, its request id and user id."""

    def __init__(self, service_name: str) -> None:
        super().__init__()
        self.service_name = service_name

    def filter(self, record: logging.LogRecord) -> bool:
        setattr(record, "service.name", self.service_name)
        flask = sys.modules.get("flask")  # CLI processes (the ETL) never import Flask just to log
        if flask is not None and flask.has_request_context():
            g = flask.g
            request_id = g.get("request_id")
            if request_id:
                setattr(record, "http.request.id", request_id)
                setattr(record, "trace.id", request_id)
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
    handler.setFormatter(ecs_logging.StdlibFormatter(exclude_fields=["process", "log.original"]))
    handler.addFilter(ContextFilter(service_name))
    handler._hrp_ecs = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in ("werkzeug", "urllib3", "engineio.server", "socketio.server"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
