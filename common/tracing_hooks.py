"""Client spans for SQL statements and Redis calls, built only inside a sampled trace.

These replace the contrib instrumentations (opentelemetry-instrumentation-sqlalchemy and -redis), whose
hooks build attributes, a span name and a non-recording span for every statement and command, record
pool usage on every checkout and wrap every `Engine.connect`, all before asking whether anything
records: in nine requests of ten (sampling ratio 0.1) that was pure cost (bench/README.md). Here every
hook first asks `tracing.recording()`, one context-variable read, and returns when nothing records.
SQL: SQLAlchemy's dialect events `do_execute*` for every engine, whenever made (the connection events
`before/after_cursor_execute` would cost ~5 us per statement even with listeners that return at once:
each connection then builds its own event dispatch). Redis: the command and pipeline entry points of
`Redis` and `RedisCluster`, wrapped in place.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from opentelemetry.trace import SpanKind
from redis.client import Pipeline, Redis
from redis.cluster import ClusterPipeline, RedisCluster
from sqlalchemy import event
from sqlalchemy.engine import Engine

from common import tracing

MAX_STATEMENT = 2000  # characters of a statement kept on its span
_tracer: Any = None
_wrapped: list[tuple[type, str, Callable[..., Any]]] = []


def install(tracer: Any) -> None:
    """Hooks on (once per interpreter: a forked worker inherits its parent's), spans from `tracer`."""
    global _tracer
    _tracer = tracer
    if _wrapped:
        return
    for name, listener in _SQL_LISTENERS.items():
        event.listen(Engine, name, listener)
    for cls, attribute, wrapper in _REDIS_ENTRY_POINTS:
        original = cls.__dict__[attribute]
        _wrapped.append((cls, attribute, original))
        setattr(cls, attribute, wrapper(original))


def uninstall() -> None:
    for name, listener in _SQL_LISTENERS.items():
        if event.contains(Engine, name, listener):
            event.remove(Engine, name, listener)
    while _wrapped:
        cls, attribute, original = _wrapped.pop()
        setattr(cls, attribute, original)


def _sql_span(context: Any, statement: str) -> Any:
    url = context.root_connection.engine.url
    words = statement.split(None, 1)
    operation = words[0].upper() if words else "SQL"
    found = {
        "db.system": context.dialect.name,
        "db.name": url.database,
        "db.statement": statement[:MAX_STATEMENT],
        "net.peer.name": url.host,
        "net.peer.port": url.port,
    }
    attributes = {key: value for key, value in found.items() if value is not None}
    name = f"{operation} {url.database}" if url.database else operation
    return _tracer.start_as_current_span(name, kind=SpanKind.CLIENT, attributes=attributes)


def _dialect_listener(method: str) -> Callable[..., bool]:
    """A listener for SQLAlchemy's dialect event `method` (do_execute, do_execute_no_params,
    do_executemany): one that returns True has executed the statement itself (here by the dialect's own
    `method`, inside the span); one that returns False leaves it to the dialect."""

    def listener(cursor: Any, statement: str, *rest: Any) -> bool:
        context = rest[-1]  # (parameters, context) or (context,)
        if context is None or not tracing.recording():
            return False
        with _sql_span(context, statement):
            getattr(context.dialect, method)(cursor, statement, *rest)
        return True

    return listener


_SQL_LISTENERS = {
    name: _dialect_listener(name) for name in ("do_execute", "do_execute_no_params", "do_executemany")
}


def _sanitized(args: Iterable[Any]) -> str:
    """`SET ? ?`: the command, never its values (keys and payloads may be personal data)."""
    args = list(args)
    return " ".join([str(args[0]), *("?" * (len(args) - 1))]) if args else ""


def _redis_attributes(client: Any, statement: str) -> dict[str, Any]:
    found: dict[str, Any] = {"db.system": "redis", "db.statement": statement[:MAX_STATEMENT]}
    kwargs = getattr(getattr(client, "connection_pool", None), "connection_kwargs", None) or {}
    if "host" in kwargs:  # a standalone client; a cluster client talks to many nodes
        found.update({"net.peer.name": kwargs["host"], "net.peer.port": kwargs.get("port", 6379)})
        found["db.redis.database_index"] = kwargs.get("db", 0)
    return found


def _traced(describe: Callable[[Any, tuple[Any, ...]], tuple[str, dict[str, Any]]]) -> Callable[..., Any]:
    """A wrapper for a Redis entry point: a client span named and described by `describe` when recording."""

    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def traced(self: Any, *args: Any, **options: Any) -> Any:
            if not tracing.recording():
                return original(self, *args, **options)
            name, attributes = describe(self, args)
            with _tracer.start_as_current_span(name, kind=SpanKind.CLIENT, attributes=attributes):
                return original(self, *args, **options)

        return traced

    return wrap


def _command(client: Any, args: tuple[Any, ...]) -> tuple[str, dict[str, Any]]:
    attributes = _redis_attributes(client, _sanitized(args))
    attributes["db.redis.args_length"] = len(args)
    return (str(args[0]) if args else "redis"), attributes


def _pipeline(pipe: Any, _args: tuple[Any, ...]) -> tuple[str, dict[str, Any]]:
    commands = [getattr(c, "args", None) or c[0] for c in _queued(pipe)]
    attributes = _redis_attributes(pipe, "\n".join(_sanitized(c) for c in commands))
    attributes["db.redis.pipeline_length"] = len(commands)
    return "PIPELINE", attributes


def _queued(pipe: Any) -> list[Any]:
    """The commands a pipeline holds: `command_stack` of (args, options), or a cluster pipeline's
    strategy's `command_queue` of PipelineCommand (redis-py 6 and later)."""
    stack = getattr(pipe, "command_stack", None)
    if stack is None:
        stack = getattr(getattr(pipe, "_execution_strategy", None), "command_queue", None)
    return list(stack or ())


_REDIS_ENTRY_POINTS = (
    (Redis, "execute_command", _traced(_command)),
    (RedisCluster, "execute_command", _traced(_command)),
    (Pipeline, "execute", _traced(_pipeline)),
    (ClusterPipeline, "execute", _traced(_pipeline)),
)
