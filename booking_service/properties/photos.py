"""Listing photos: the owner (or an admin) adds and removes them. The bytes are checked for what they
are, not what the request says (JPEG, PNG or WebP), bounded before they are decoded, and re-encoded as
a JPEG without their metadata (EXIF GPS, camera serials), with a thumbnail. No HTTP here."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from booking_service import errors
from booking_service.ports import Transaction, UnitOfWork
from booking_service.properties.model import Photo
from booking_service.properties.services import owned
from booking_service.properties.storage import PhotoStore, new_photo_id, photo_url, thumb_url
from common.identity import Identity

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_SIDE = 6000
MAX_PIXELS = 36_000_000
MAX_PHOTOS = 20
FULL_SIDE = 2048  # larger photos are scaled down: nobody views a listing at 6000 px
THUMB_SIZE = (480, 360)
FORMATS = ("JPEG", "PNG", "WEBP")


@dataclass(frozen=True)
class Encoded:
    full: bytes
    thumb: bytes
    size: tuple[int, int]


def prepare(data: bytes) -> Encoded:
    """The upload decoded within bounds and re-encoded (full size and thumbnail), metadata dropped."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise errors.PhotoTooLarge
    with warnings.catch_warnings():
        # Pillow only warns between MAX_IMAGE_PIXELS and twice that; here every bomb is refused.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=FORMATS) as image:
                width, height = image.size  # from the header: nothing decoded yet
                if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
                    raise errors.PhotoTooManyPixels
                image.load()
                upright = ImageOps.exif_transpose(image).convert("RGB")
        except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise errors.NotAPhoto from None
        except (OSError, SyntaxError, ValueError):
            raise errors.NotAPhoto from None  # truncated or corrupt past the header
    upright.thumbnail((FULL_SIDE, FULL_SIDE), Image.Resampling.LANCZOS)
    thumb = ImageOps.fit(upright, THUMB_SIZE, Image.Resampling.LANCZOS)
    return Encoded(_jpeg(upright, 85), _jpeg(thumb, 80), upright.size)


def _jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    # No exif=, icc_profile= or comment: the new file carries no metadata of the upload.
    image.save(out, "JPEG", quality=quality, optimize=True, progressive=True)
    return out.getvalue()


def photos_of(store: PhotoStore, property_id: int) -> list[Photo]:
    return [_photo(property_id, photo_id) for photo_id in store.list(property_id)]


def add(uow: UnitOfWork, store: PhotoStore, identity: Identity, property_id: int, data: bytes) -> Photo:
    encoded = prepare(data)  # before the transaction: decoding holds no lock

    def save(tx: Transaction) -> Photo:
        owned(tx, identity, property_id)
        if len(store.list(property_id)) >= MAX_PHOTOS:
            raise errors.TooManyPhotos
        photo_id = new_photo_id()
        store.save(property_id, photo_id, encoded.full, encoded.thumb)
        tx.after_commit(uow.properties_changed)
        return _photo(property_id, photo_id)

    return uow.transaction(save)


def remove(uow: UnitOfWork, store: PhotoStore, identity: Identity, property_id: int, photo_id: str) -> None:
    def delete(tx: Transaction) -> None:
        owned(tx, identity, property_id)
        if not store.delete(property_id, photo_id):
            raise errors.PhotoNotFound
        tx.after_commit(uow.properties_changed)

    uow.transaction(delete)


def _photo(property_id: int, photo_id: str) -> Photo:
    return Photo(photo_id, photo_url(property_id, photo_id), thumb_url(property_id, photo_id))
