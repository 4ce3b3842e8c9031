"""Where prometheus-client's multiprocess mode keeps each worker's files; no Flask here, so modules
below the HTTP layer (a service's database layer) may define metrics too."""

from __future__ import annotations

import os

MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


def ensure_multiprocess_dir() -> None:
    """Workers write their files there from their first metric on; a module defining metrics calls this
    first (the launcher makes the directory; in a container it is a path under /tmp made here)."""
    if os.environ.get(MULTIPROC_DIR_ENV):
        os.makedirs(os.environ[MULTIPROC_DIR_ENV], exist_ok=True)
