"""`python -m booking_service migrate`: bring the MariaDB schema to head before the server starts, and give
the seed properties their photos (once)."""

from __future__ import annotations

import argparse
import sys

from booking_service.properties.seed_photos import seed_photos
from booking_service.properties.storage import LocalPhotoStore
from booking_service.settings import BookingSettings
from common.migrations import upgrade_to_head

SCRIPT_LOCATION = "booking_service:migrations"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m booking_service")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply Alembic migrations to BOOKING_DB_URL")
    args = parser.parse_args(argv)
    if args.command == "migrate":
        settings = BookingSettings()
        upgrade_to_head(SCRIPT_LOCATION, settings.booking_db_url)
        try:
            seed_photos(LocalPhotoStore(settings.photo_dir))
        except OSError as exc:  # the schema is what the servers need; photos can come later
            print(f"seed photos not written to PHOTO_DIR={settings.photo_dir}: {exc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
