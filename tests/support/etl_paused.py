"""`python -m tests.support.etl_paused BATCH MARKER <etl arguments>`: the ETL's own CLI, except that it
stops inside batch BATCH's transaction (after its rows and watermark, before the commit) and touches
MARKER, so a test can SIGKILL it there. Test-only, so it lives here and not as a setting of the ETL."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from etl_service import load
from etl_service.cli import main as etl_main


def pause_inside_batch(batch: int, marker: Path) -> None:
    """Every batch saves its watermark last inside its transaction (`pipeline._commit_batch`)."""
    save_watermark = load.save_watermark
    saved = 0

    def saving_then_pausing(*args: Any, **kwargs: Any) -> Any:
        nonlocal saved
        result = save_watermark(*args, **kwargs)
        saved += 1
        if saved == batch:
            marker.write_text(str(batch))
            time.sleep(600)  # the test SIGKILLs us here, inside the uncommitted transaction
        return result

    load.save_watermark = saving_then_pausing  # type: ignore[assignment]


if __name__ == "__main__":
    batch, marker, *arguments = sys.argv[1:]
    pause_inside_batch(int(batch), Path(marker))
    sys.exit(etl_main(arguments))
