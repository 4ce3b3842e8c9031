"""Listing photo rules on the in-memory FakeUnitOfWork and a real LocalPhotoStore in a temp directory:
what an upload must be (checked from the bytes), its bounds, the re-encoding that drops metadata, and who
may add or remove one. The same route runs on the real stack in tests/contract/test_photos_api.py."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from PIL import Image

from booking_service import errors
from booking_service.properties import photos, services
from booking_service.properties.model import PropertyFields
from booking_service.properties.seed_photos import PALETTES, seed_photos
from booking_service.properties.storage import LocalPhotoStore
from common.identity import Identity
from common.routes import PHOTO_BODY_BYTES, ROUTES
from gateway.routing import body_limit
from tests.support.booking_fakes import FakeUnitOfWork

HOST, OTHER_HOST, ADMIN = Identity(20, "host"), Identity(21, "host"), Identity(1, "admin")
LOFT = PropertyFields({"name": "Loft", "location": "Oslo", "price_per_night": Decimal("99.00")})
GPS_IFD = 0x8825


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (640, 480), *, exif: bool = False) -> bytes:
    picture = Image.new("RGB", size, "#3a7bd5")
    out = io.BytesIO()
    extra = {}
    if exif:
        tags = Image.Exif()
        tags[0x010F] = "SecretCam"  # Make
        tags[0x0112] = 6  # Orientation: rotated 90 degrees
        tags[GPS_IFD] = {2: (59.0, 54.0, 0.0)}  # GPSLatitude
        extra["exif"] = tags
    picture.save(out, fmt, **extra)
    return out.getvalue()


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


@pytest.fixture
def store(tmp_path) -> LocalPhotoStore:
    return LocalPhotoStore(tmp_path / "photos")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_jpeg_png_and_webp_are_taken_and_stored_as_jpeg_with_a_thumbnail(fmt, uow, store) -> None:
    prop = services.create(uow, HOST, LOFT)
    photo = photos.add(uow, store, HOST, prop.id, image_bytes(fmt))
    assert photo.url == f"/photos/{prop.id}/{photo.id}.jpg"
    assert photo.thumb_url == f"/photos/{prop.id}/{photo.id}_thumb.jpg"
    folder = store.root / str(prop.id)
    with (
        Image.open(folder / f"{photo.id}.jpg") as full,
        Image.open(folder / f"{photo.id}_thumb.jpg") as thumb,
    ):
        assert (full.format, full.size) == ("JPEG", (640, 480))
        assert (thumb.format, thumb.size) == ("JPEG", photos.THUMB_SIZE)
    assert [p.id for p in photos.photos_of(store, prop.id)] == [photo.id]
    assert uow.invalidations == 2  # the create, then the photo: cached reads show it


@pytest.mark.parametrize(
    "data",
    [
        b"GIF89a" + bytes(100),
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        b"not an image",
        image_bytes()[:200],
    ],
    ids=["gif", "svg", "text", "truncated-jpeg"],
)
def test_anything_else_is_refused_whatever_it_claims_to_be(data, uow, store) -> None:
    prop = services.create(uow, HOST, LOFT)
    with pytest.raises(errors.NotAPhoto):
        photos.add(uow, store, HOST, prop.id, data)
    assert store.list(prop.id) == []


def test_metadata_is_dropped_and_the_orientation_applied(uow, store) -> None:
    prop = services.create(uow, HOST, LOFT)
    upload = image_bytes(size=(400, 300), exif=True)
    assert b"SecretCam" in upload
    photo = photos.add(uow, store, HOST, prop.id, upload)
    stored = (store.root / str(prop.id) / f"{photo.id}.jpg").read_bytes()
    assert b"SecretCam" not in stored and b"Exif" not in stored
    with Image.open(io.BytesIO(stored)) as full:
        assert full.size == (300, 400)  # turned upright, then the orientation tag dropped
        assert not full.getexif() and "icc_profile" not in full.info


def test_too_many_bytes_or_pixels_are_refused_before_decoding(uow, store) -> None:
    prop = services.create(uow, HOST, LOFT)
    with pytest.raises(errors.PhotoTooLarge):
        photos.add(uow, store, HOST, prop.id, b"\xff" * (photos.MAX_UPLOAD_BYTES + 1))
    # A PNG of 6001 x 10 pixels is a few hundred bytes; the header alone refuses it.
    with pytest.raises(errors.PhotoTooManyPixels):
        photos.add(uow, store, HOST, prop.id, image_bytes("PNG", (photos.MAX_SIDE + 1, 10)))
    assert store.list(prop.id) == []


def test_only_the_owner_or_an_admin_adds_or_removes_photos(uow, store) -> None:
    prop = services.create(uow, HOST, LOFT)
    with pytest.raises(errors.NotPropertyOwner):
        photos.add(uow, store, OTHER_HOST, prop.id, image_bytes())
    with pytest.raises(errors.PropertyNotFound):
        photos.add(uow, store, HOST, 999, image_bytes())
    photo = photos.add(uow, store, ADMIN, prop.id, image_bytes())
    with pytest.raises(errors.NotPropertyOwner):
        photos.remove(uow, store, OTHER_HOST, prop.id, photo.id)
    photos.remove(uow, store, HOST, prop.id, photo.id)
    assert store.list(prop.id) == [] and list((store.root / str(prop.id)).iterdir()) == []
    for unknown in (photo.id, "../../etc/passwd", "0" * 16):
        with pytest.raises(errors.PhotoNotFound):
            photos.remove(uow, store, HOST, prop.id, unknown)


def test_a_listing_has_at_most_max_photos(uow, store, monkeypatch) -> None:
    monkeypatch.setattr(photos, "MAX_PHOTOS", 2)
    prop = services.create(uow, HOST, LOFT)
    first, second = (photos.add(uow, store, HOST, prop.id, image_bytes()) for _ in range(2))
    with pytest.raises(errors.TooManyPhotos):
        photos.add(uow, store, HOST, prop.id, image_bytes())
    assert [p.id for p in photos.photos_of(store, prop.id)] == [first.id, second.id]  # upload order


def test_my_listings_are_the_live_ones_i_own_and_an_admin_may_see_all(uow) -> None:
    mine = services.create(uow, HOST, LOFT)
    services.create(uow, OTHER_HOST, LOFT)
    retired = services.create(uow, HOST, LOFT)
    services.retire(uow, HOST, retired.id)
    assert [p.id for p in services.hosted_by(uow, HOST)] == [mine.id]
    assert [p.id for p in services.hosted_by(uow, HOST, everyone=True)] == [mine.id]  # a host: own only
    assert len(services.hosted_by(uow, ADMIN, everyone=True)) == 2
    assert services.hosted_by(uow, ADMIN) == []


def test_seed_photos_are_made_once(store) -> None:
    assert seed_photos(store) == 2 * len(PALETTES)
    assert seed_photos(store) == 0
    assert all(len(store.list(property_id)) == 2 for property_id in PALETTES)


def test_only_the_photo_upload_takes_a_larger_body_at_the_gateway() -> None:
    default = 1024 * 1024
    assert body_limit("POST", "/api/bookings/properties/7/photos", default) == PHOTO_BODY_BYTES
    assert PHOTO_BODY_BYTES > photos.MAX_UPLOAD_BYTES  # room for the multipart framing
    for method, path in [
        ("POST", "/api/bookings/properties"),
        ("PATCH", "/api/bookings/properties/7"),
        ("DELETE", "/api/bookings/properties/7/photos/0187a5c3e2f1a9b0"),
        ("POST", "/api/bookings/properties/7/photos/extra"),
        ("POST", "/api/bookings/book"),
    ]:
        assert body_limit(method, path, default) == default
    assert [route.path for route in ROUTES if route.max_body] == ["/api/bookings/properties/{id}/photos"]
