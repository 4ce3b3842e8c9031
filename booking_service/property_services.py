"""Property rules: cached search and lookups, host-managed changes that invalidate and notify."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import asdict
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, Row

from booking_service import property_repository as repo
from booking_service.cache import PropertyCache
from booking_service.db import after_commit, transaction
from booking_service.near_cache import NearCache
from booking_service.property_input import FIELDS, parse_property_fields
from booking_service.property_repository import PropertyFilters
from booking_service.serializers import json_number, property_detail_json, property_json
from booking_service.services import Notifier, NullNotifier
from booking_service.validation import check_range, parse_date, today
from common.auth import Identity
from common.errors import Conflict, Forbidden, NotFound

PROPERTY_NOT_FOUND = "Property not found"
COLUMN_TO_FIELD = {column: field for field, (column, _) in FIELDS.items()}
CALENDAR_DAYS = 365


class PropertyService:
    """Reads return encoded JSON: a cache hit is served as stored, never decoded and encoded again.

    Three levels: this process's copies (`NearCache`), Redis Cluster (shared by the instances), MariaDB.
    """

    def __init__(
        self,
        engine: Engine,
        cache: PropertyCache,
        notifier: Notifier | None = None,
        near: NearCache | None = None,
    ) -> None:
        self.engine = engine
        self.cache = cache
        self.notifier = notifier or NullNotifier()
        self.near = near or NearCache(None)

    def search(self, filters: PropertyFilters, *, use_cache: bool = True) -> bytes:
        # Date-window searches depend on bookings, which change far more often than properties.
        if not use_cache or filters.free_from is not None:
            return self._list_from_db(filters)
        near_key = f"list:{filters!r}"
        epoch = self.near.epoch()
        if (copy := self.near.get(near_key)) is not None:
            return copy
        generation = self.cache.generation()
        variant = json.dumps(asdict(filters), default=str, sort_keys=True)
        encoded = self.cache.get_list(generation, variant)
        if encoded is None:
            encoded = self._list_from_db(filters)
            self.cache.set_list(generation, variant, encoded)
        self.near.put(epoch, near_key, encoded)
        return encoded

    def get(self, property_id: int) -> bytes:
        near_key = f"item:{property_id}"
        epoch = self.near.epoch()
        if (copy := self.near.get(near_key)) is not None:
            return copy
        generation = self.cache.generation()
        encoded = self.cache.get_item(generation, property_id)
        if encoded is None:
            with self.engine.connect() as conn:
                row = repo.get_property(conn, property_id)
            if row is None:
                raise NotFound(PROPERTY_NOT_FOUND)
            encoded = orjson.dumps(property_detail_json(row))
            self.cache.set_item(generation, property_id, encoded)
        self.near.put(epoch, near_key, encoded)
        return encoded

    def _list_from_db(self, filters: PropertyFilters) -> bytes:
        with self.engine.connect() as conn:
            return orjson.dumps([property_json(row) for row in repo.list_properties(conn, filters)])

    def _invalidate(self) -> None:
        self.cache.invalidate()
        self.near.publish_invalidation()

    def create(self, identity: Identity, body: Mapping[str, Any]) -> dict[str, Any]:
        values = {**parse_property_fields(body, partial=False), "owner_id": identity.user_id}

        def insert(conn: Connection) -> Row:
            property_id = repo.insert_property(conn, values)
            after_commit(conn, self._invalidate)
            return repo.get_property(conn, property_id)

        return property_detail_json(transaction(self.engine, insert))

    def update(self, identity: Identity, property_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        values = parse_property_fields(body, partial=True)

        def change(conn: Connection) -> Row:
            current = self._owned(conn, identity, property_id)
            changed = {col: v for col, v in values.items() if getattr(current, col) != v}
            if changed:
                repo.update_property(conn, property_id, changed)
                self._after_change(
                    conn, property_id, {COLUMN_TO_FIELD[c]: _json(v) for c, v in changed.items()}
                )
            return repo.get_property(conn, property_id)

        return property_detail_json(transaction(self.engine, change))

    def retire(self, identity: Identity, property_id: int) -> dict[str, str]:
        def retire_locked(conn: Connection) -> None:
            self._owned(conn, identity, property_id)
            if repo.has_future_bookings(conn, property_id, today()):
                raise Conflict("Property has upcoming bookings and cannot be removed")
            repo.retire_property(conn, property_id)
            self._after_change(conn, property_id, {"retired": True})

        transaction(self.engine, retire_locked)
        return {"message": "Property removed"}

    def calendar(self, property_id: int, args: Mapping[str, str]) -> dict[str, Any]:
        start = parse_date(args["from"], "from") if args.get("from") else today()
        end = parse_date(args["to"], "to") if args.get("to") else start + dt.timedelta(days=CALENDAR_DAYS)
        check_range(start, end, "from", "to")
        with self.engine.connect() as conn:
            if repo.get_property(conn, property_id) is None:
                raise NotFound(PROPERTY_NOT_FOUND)
            ranges = repo.booked_ranges(conn, property_id, start, end)
        booked = [{"startDate": r.start_date.isoformat(), "endDate": r.end_date.isoformat()} for r in ranges]
        return {"propertyId": property_id, "from": start.isoformat(), "to": end.isoformat(), "booked": booked}

    def _owned(self, conn: Connection, identity: Identity, property_id: int) -> Row:
        """The live property, locked; 404 when unknown or retired, 403 when not the caller's."""
        row = repo.get_property(conn, property_id, lock=True)
        if row is None:
            raise NotFound(PROPERTY_NOT_FOUND)
        if not identity.is_admin and row.owner_id != identity.user_id:
            raise Forbidden("You can only manage your own properties")
        return row

    def _after_change(self, conn: Connection, property_id: int, changes: dict[str, Any]) -> None:
        update = {"propertyId": property_id, "event": "updated", "changes": changes}
        after_commit(conn, self._invalidate)
        after_commit(conn, lambda: self.notifier.property_event(property_id, update))


def _json(value: Any) -> Any:
    return json_number(value) if isinstance(value, Decimal) else value
