"""Listing photos, my listings and my watch list (issue #20) on the real stack: nginx → gateway →
booking_service on MariaDB, photos written to the stack's photo directory and served back by nginx at
/photos/, the watch list written by the real Socket.IO server. Nothing is mocked."""

from __future__ import annotations

import io
import uuid

import pytest
import requests
from PIL import Image

from common.routes import PHOTO_BODY_BYTES
from infra.nginx_conf import TEMPLATE
from tests.support.notification_client import NotificationClient

pytestmark = pytest.mark.timeout(120)


def new_id() -> int:
    return 900_000 + uuid.uuid4().int % 10_000_000


def auth(stack, user_id: int, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.token(user_id, role)}"}


def jpeg_with_exif(size: tuple[int, int] = (800, 600)) -> bytes:
    tags = Image.Exif()
    tags[0x010F] = "SecretCam"  # Make
    tags[0x8825] = {2: (59.0, 54.0, 0.0)}  # GPS latitude
    out = io.BytesIO()
    Image.new("RGB", size, "#d5743a").save(out, "JPEG", exif=tags)
    return out.getvalue()


@pytest.fixture(scope="module")
def edge(stack) -> str:
    return stack.nginx_url


@pytest.fixture
def listing(stack, edge):
    """A host of this test's own and a new listing of theirs."""
    host = new_id()
    headers = auth(stack, host, "host")
    body = {"name": "Photo House", "location": f"Lens-{uuid.uuid4().hex[:8]}, PH", "pricePerNight": 140}
    response = requests.post(f"{edge}/api/bookings/properties", json=body, headers=headers, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["propertyId"], headers


def upload(edge: str, property_id: int, headers: dict, data: bytes, content_type: str = "image/jpeg"):
    return requests.post(
        f"{edge}/api/bookings/properties/{property_id}/photos",
        data=data,
        headers={**headers, "Content-Type": content_type},
        timeout=30,
    )


def test_an_upload_is_re_encoded_without_metadata_listed_and_served_by_nginx(edge, listing) -> None:
    property_id, headers = listing
    original = jpeg_with_exif()
    response = upload(edge, property_id, headers, original)
    assert response.status_code == 201, response.text
    photo = response.json()
    assert set(photo) == {"id", "url", "thumbUrl"}
    full = requests.get(f"{edge}{photo['url']}", timeout=10)
    thumb = requests.get(f"{edge}{photo['thumbUrl']}", timeout=10)
    assert (full.status_code, full.headers["Content-Type"]) == (200, "image/jpeg")
    assert (thumb.status_code, thumb.headers["Content-Type"]) == (200, "image/jpeg")
    assert b"SecretCam" in original and b"SecretCam" not in full.content and b"Exif" not in full.content
    with Image.open(io.BytesIO(full.content)) as image, Image.open(io.BytesIO(thumb.content)) as small:
        assert (image.size, small.size) == ((800, 600), (480, 360))
        assert not image.getexif()
    detail = requests.get(f"{edge}/api/bookings/properties/{property_id}", headers=headers, timeout=10)
    assert detail.json()["photos"] == [photo]


def test_a_multipart_upload_works_too_and_the_owner_deletes_a_photo(edge, listing) -> None:
    property_id, headers = listing
    files = {"photo": ("house.png", _png(), "image/png")}
    url = f"{edge}/api/bookings/properties/{property_id}/photos"
    response = requests.post(url, files=files, headers=headers, timeout=30)
    assert response.status_code == 201, response.text
    photo = response.json()
    gone = requests.delete(f"{url}/{photo['id']}", headers=headers, timeout=10)
    assert (gone.status_code, gone.json()) == (200, {"message": "Photo removed"})
    assert requests.get(f"{edge}{photo['url']}", timeout=10).status_code == 404
    again = requests.delete(f"{url}/{photo['id']}", headers=headers, timeout=10)
    assert (again.status_code, again.json()) == (404, {"error": "Photo not found"})


@pytest.mark.parametrize(
    ("data", "content_type"),
    [(b"GIF89a" + bytes(64), "image/gif"), (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/jpeg")],
    ids=["gif", "svg-claiming-jpeg"],
)
def test_a_file_that_is_not_a_jpeg_png_or_webp_is_415(edge, listing, data, content_type) -> None:
    property_id, headers = listing
    response = upload(edge, property_id, headers, data, content_type)
    assert response.status_code == 415
    assert response.json() == {"error": "A photo must be a JPEG, PNG or WebP image"}


def test_over_5_mib_is_413_and_other_routes_keep_the_1_mib_limit(edge, listing) -> None:
    property_id, headers = listing
    noise = Image.frombytes("RGB", (1600, 1200), bytes(range(256)) * (1600 * 1200 * 3 // 256))
    out = io.BytesIO()
    noise.save(out, "PNG", compress_level=0)
    big = out.getvalue() + bytes(6 * 1024 * 1024 - len(out.getvalue()))  # a valid PNG, 6 MiB long
    too_big = upload(edge, property_id, headers, big, "image/png")
    assert (too_big.status_code, too_big.json()) == (413, {"error": "Request body too large"})  # nginx
    assert f"client_max_body_size {PHOTO_BODY_BYTES // 1024}k;" in TEMPLATE.read_text()
    slightly = upload(edge, property_id, headers, big[: 5 * 1024 * 1024 + 1], "image/png")
    assert (slightly.status_code, slightly.json()) == (413, {"error": "A photo can be at most 5 MiB"})
    # A 2 MiB JSON body on the listing's own route is refused at the edge as before.
    patch = requests.patch(
        f"{edge}/api/bookings/properties/{property_id}",
        data=b'{"description": "' + b"x" * (2 * 1024 * 1024) + b'"}',
        headers={**headers, "Content-Type": "application/json"},
        timeout=30,
    )
    assert patch.status_code == 413


def test_only_the_owner_or_an_admin_uploads(stack, edge, listing) -> None:
    property_id, _ = listing
    other_host = upload(edge, property_id, auth(stack, new_id(), "host"), _png())
    assert (other_host.status_code, other_host.json()) == (
        403,
        {"error": "You can only manage your own properties"},
    )
    guest = upload(edge, property_id, auth(stack, new_id(), "user"), _png())
    assert guest.status_code == 403
    anonymous = upload(edge, property_id, {}, _png())
    assert anonymous.status_code == 401
    admin = upload(edge, property_id, auth(stack, new_id(), "admin"), _png())
    assert admin.status_code == 201


def test_seed_listings_have_photos_served_by_nginx(edge) -> None:
    detail = requests.get(f"{edge}/api/bookings/properties/1", timeout=10).json()
    assert len(detail["photos"]) == 2
    served = requests.get(f"{edge}{detail['photos'][0]['thumbUrl']}", timeout=10)
    assert served.status_code == 200 and served.content[:2] == b"\xff\xd8"
    assert requests.get(f"{edge}/photos/", timeout=10).status_code == 404  # no directory listing


def test_my_listings_are_mine_and_live(stack, edge, listing) -> None:
    property_id, headers = listing
    second = requests.post(
        f"{edge}/api/bookings/properties",
        json={"name": "Second", "location": "Elsewhere, EL", "pricePerNight": 80},
        headers=headers,
        timeout=10,
    ).json()["propertyId"]
    requests.delete(f"{edge}/api/bookings/properties/{second}", headers=headers, timeout=10)
    mine = requests.get(f"{edge}/api/bookings/hosting/properties", headers=headers, timeout=10)
    assert mine.status_code == 200
    assert [p["propertyId"] for p in mine.json()] == [property_id]
    guest = requests.get(
        f"{edge}/api/bookings/hosting/properties", headers=auth(stack, new_id(), "user"), timeout=10
    )
    assert guest.status_code == 403


def test_the_watch_list_is_what_the_realtime_server_keeps(stack, edge, listing) -> None:
    property_id, _ = listing
    user_id = new_id()
    headers = auth(stack, user_id, "user")
    before = requests.get(f"{edge}/api/bookings/watching", headers=headers, timeout=10)
    assert (before.status_code, before.json()) == (200, {"propertyIds": []})
    client = NotificationClient.connect(stack.url("booking_realtime", 0), stack.token(user_id, "user"))
    try:
        client.message("get-notification", {"property_id": property_id}, "notification_response")
        watched = requests.get(f"{edge}/api/bookings/watching", headers=headers, timeout=10).json()
        assert watched == {"propertyIds": [property_id]}
        client.message("stop-notification", {"property_id": property_id}, "stop_notification_response")
    finally:
        client.close()
    after = requests.get(f"{edge}/api/bookings/watching", headers=headers, timeout=10).json()
    assert after == {"propertyIds": []}
    assert requests.get(f"{edge}/api/bookings/watching", timeout=10).status_code == 401


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), "#2f8f5b").save(out, "PNG")
    return out.getvalue()
