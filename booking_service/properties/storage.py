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
    """`<root>/<property id>/<photo id>.jpg` and `..._thumb.jpg`, world-readable for nginx's workers.

    A listing is remembered with its folder's modification time: a search result's thumbnail then costs
    one `stat`, not a directory scan (which was a fifth of an uncached search's CPU). Any photo written or
    removed, by any instance, changes that time; a listing taken within SETTLE_NS of the last change is
    not kept, since two changes inside one tick of the file system's clock can leave the time unchanged.
    """

    SETTLE_NS = 50_000_000
    MAX_LISTINGS = 10_000

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._listings: dict[int, tuple[int, list[str]]] = {}

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
        folder = os.path.join(self.root, str(property_id))
        try:
            changed = os.stat(folder).st_mtime_ns
        except OSError:  # no photo was ever added
            return []
        known = self._listings.get(property_id)
        if known is not None and known[0] == changed:
            return list(known[1])
        with os.scandir(folder) as entries:
            stems = (entry.name[:-4] for entry in entries if entry.name.endswith(".jpg"))
            names = sorted(stem for stem in stems if valid_photo_id(stem))
        if time.time_ns() - changed > self.SETTLE_NS:
            if len(self._listings) >= self.MAX_LISTINGS:
                self._listings.clear()
            self._listings[property_id] = (changed, names)
        return list(names)

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
