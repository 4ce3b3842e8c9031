"""A WSGI app that answers its worker's pid after sleeping `?seconds`: drives server signal tests. At
`/environ` it answers what a request's environ holds and which variables its factory saw instead."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable


def create_app() -> Callable[..., Iterable[bytes]]:
    seen_at_start = sorted(os.environ)

    def app(environ: dict, start_response: Callable[..., object]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/environ":
            seen = {"factory": seen_at_start, "request": {k: str(v) for k, v in environ.items()}}
            answer = json.dumps(seen).encode()
            start_response(
                "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(answer)))]
            )
            return [answer]
        time.sleep(float(environ.get("QUERY_STRING") or 0))
        body = str(os.getpid()).encode()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]

    return app
