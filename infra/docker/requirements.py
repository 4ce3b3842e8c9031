"""Print the runtime dependencies of pyproject.toml, one per line (the image's dependency layer)."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path


def runtime_requirements(pyproject: Path) -> list[str]:
    with pyproject.open("rb") as handle:
        return list(tomllib.load(handle)["project"]["dependencies"])


if __name__ == "__main__":
    print("\n".join(runtime_requirements(Path(sys.argv[1] if len(sys.argv) > 1 else "pyproject.toml"))))
