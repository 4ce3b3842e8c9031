"""Photos for the five seed properties, drawn here (no downloaded images): a sky, a hill and a house in
each listing's own colours, two views each. Made by `python -m booking_service migrate` for a listing
that has no photo yet, and stored through the same pipeline as an upload."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from booking_service.properties.photos import prepare
from booking_service.properties.storage import PhotoStore, new_photo_id

# property id -> (sky, ground, walls, roof)
PALETTES: dict[int, tuple[str, str, str, str]] = {
    1: ("#9cc7e8", "#8a8f98", "#d9d4c7", "#3d4a5c"),  # city apartment
    2: ("#7fd0f0", "#e8d7a8", "#ffffff", "#2a7fa8"),  # oceanfront villa
    3: ("#b7d3e8", "#4f7a3a", "#8b5a2b", "#5a3a1e"),  # mountain cabin
    4: ("#cfe3ee", "#7fae5a", "#f4e9d8", "#a8483a"),  # country cottage
    5: ("#f2b880", "#5d6470", "#c9ced6", "#262a33"),  # downtown penthouse
}
SIZE = (1200, 800)


def draw(palette: tuple[str, str, str, str], view: int) -> bytes:
    sky, ground, walls, roof = palette
    width, height = SIZE
    image = Image.new("RGB", SIZE, sky)
    pen = ImageDraw.Draw(image)
    horizon = int(height * (0.62 if view == 0 else 0.7))
    pen.ellipse((-width // 3, horizon - 160, width + width // 3, horizon + 400), fill=ground)
    pen.rectangle((0, horizon + 60, width, height), fill=ground)
    pen.ellipse((width - 260, 70, width - 140, 190), fill="#fff4c2")  # sun
    left = 300 if view == 0 else 520
    house_w, house_h = (520, 300) if view == 0 else (380, 240)
    top = horizon - house_h + 80
    pen.rectangle((left, top, left + house_w, top + house_h), fill=walls, outline="#333333", width=4)
    pen.polygon([(left - 40, top), (left + house_w // 2, top - 170), (left + house_w + 40, top)], fill=roof)
    door = left + house_w // 2 - 40
    pen.rectangle((door, top + house_h - 150, door + 80, top + house_h), fill=roof)
    for x in (left + 50, left + house_w - 150):
        pen.rectangle((x, top + 60, x + 100, top + 150), fill="#fdf6d8", outline="#333333", width=4)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def seed_photos(store: PhotoStore) -> int:
    """Two photos for each seed property that has none; returns how many were made."""
    made = 0
    for property_id, palette in PALETTES.items():
        if store.list(property_id):
            continue
        for view in (0, 1):
            encoded = prepare(draw(palette, view))
            store.save(property_id, new_photo_id(), encoded.full, encoded.thumb)
            made += 1
    return made
