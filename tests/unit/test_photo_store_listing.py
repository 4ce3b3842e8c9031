"""LocalPhotoStore remembers a folder's listing with the folder's modification time (a search result's
thumbnail costs a `stat`, not a scan); any change to the folder is seen, and a listing taken in the
same tick of the file system's clock as a change is never kept."""

from __future__ import annotations

import os
import time
from pathlib import Path

from booking_service.properties.storage import LocalPhotoStore, new_photo_id


def settle(folder: Path) -> None:
    """Moves the folder's modification time a second into the past, as if the last change were old."""
    past = time.time_ns() - 1_000_000_000
    os.utime(folder, ns=(past, past))


def test_a_settled_listing_is_remembered_until_the_folder_changes(tmp_path: Path) -> None:
    store = LocalPhotoStore(tmp_path)
    first, second = new_photo_id(), new_photo_id()
    store.save(7, first, b"full", b"thumb")
    settle(tmp_path / "7")
    assert store.list(7) == [first]
    (tmp_path / "7" / f"{second}.jpg").write_bytes(b"x")  # written behind the store's back ...
    settle(tmp_path / "7")
    os.utime(tmp_path / "7", ns=(store._listings[7][0],) * 2)  # ... with the time it had: not seen
    assert store.list(7) == [first], "the remembered listing is served while the folder's time holds"
    store.save(7, new_photo_id(), b"full", b"thumb")  # a real change moves the time
    assert len(store.list(7)) == 3
    assert store.delete(7, first)
    assert first not in store.list(7)


def test_a_listing_taken_right_after_a_change_is_not_kept(tmp_path: Path) -> None:
    store = LocalPhotoStore(tmp_path)
    photo = new_photo_id()
    store.save(3, photo, b"full", b"thumb")
    assert store.list(3) == [photo]
    assert 3 not in store._listings, "a change a moment ago may share its time with the next one"


def test_a_property_without_photos_lists_nothing(tmp_path: Path) -> None:
    assert LocalPhotoStore(tmp_path).list(12345) == []
