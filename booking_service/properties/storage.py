"""Where listing photos live: files outside the databases, behind a small interface, so a volume, a
persistent volume or an object store can take the local directory's place. nginx serves the directory
at `/photos/` (infra/nginx/nginx.conf.tmpl); the URLs below are relative to the site."""

from __future__ import annotations

import os
import re
import secrets
import time
from pathlib import Path
from typing import Protocol

URL_PREFIX = "/photos"
_PHOTO_ID = re.compile(r"^[0-9a-f]{16,40}$")


def new_photo_id() -> str:
    """Time-ordered (a listing shows its photos in upload order) and unguessable."""
    return f"{time.time_ns():016x}{secrets.token_hex(6)}"


def valid_photo_id(photo_id: str) -> bool:
    return _PHOTO_ID.match(photo_id) is not None


class PhotoStore(Protocol):
    def save(self, property_id: int, photo_id: str, full: bytes, thumb: bytes) -> None: ...

    def list(self, property_id: int) -> list[str]: ...

    def delete(self, property_id: int, photo_id: str) -> bool: ...


def photo_url(property_id: int, photo_id: str) -> str:
    return f"{URL_PREFIX}/{property_id}/{photo_id}.jpg"


def thumb_url(property_id: int, photo_id: str) -> str:
    return f"{URL_PREFIX}/{property_id}/{photo_id}_thumb.jpg"


class LocalPhotoStore:
    """`<root>/<property id>/<photo id>.jpg` and `..._thumb.jpg`, world-readable for nginx's workers."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _dir(self, property_id: int) -> Path:
        return self.root / str(property_id)

    def save(self, property_id: int, photo_id: str, full: bytes, thumb: bytes) -> None:
        folder = self._dir(property_id)
        folder.mkdir(parents=True, exist_ok=True)
        for directory in (self.root, folder):
            directory.chmod(0o755)
        # The thumbnail first: a listed photo (its full file exists) always has its thumbnail.
        self._write(folder / f"{photo_id}_thumb.jpg", thumb)
        self._write(folder / f"{photo_id}.jpg", full)

    def list(self, property_id: int) -> list[str]:
        folder = self._dir(property_id)
        if not folder.is_dir():
            return []
        names = (path.stem for path in folder.glob("*.jpg"))
        return sorted(name for name in names if valid_photo_id(name))

    def delete(self, property_id: int, photo_id: str) -> bool:
        if not valid_photo_id(photo_id):
            return False
        folder = self._dir(property_id)
        full = folder / f"{photo_id}.jpg"
        if not full.exists():
            return False
        full.unlink(missing_ok=True)
        (folder / f"{photo_id}_thumb.jpg").unlink(missing_ok=True)
        return True

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        # Written aside and renamed: nginx never serves half a file.
        partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        partial.write_bytes(data)
        partial.chmod(0o644)
        os.replace(partial, path)
