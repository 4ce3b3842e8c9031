"""A WSGI app that answers its worker's pid after sleeping `?seconds`: drives server signal tests."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable


def create_app() -> Callable[..., Iterable[bytes]]:
    def app(environ: dict, start_response: Callable[..., object]) -> Iterable[bytes]:
        time.sleep(float(environ.get("QUERY_STRING") or 0))
        body = str(os.getpid()).encode()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]

    return app
