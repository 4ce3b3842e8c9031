"""The read side of properties (cosmicpython's "views"): search and lookups answered as encoded JSON, so
a cache hit is served as stored, never decoded and encoded again.

Three levels: this process's copies (`NearCache`), Redis Cluster (shared by the instances), MariaDB.
"""

from __future__ import annotations

import json
from dataclasses import asdict

import orjson

from booking_service import errors
from booking_service.cache import PropertyCache
from booking_service.ports import UnitOfWork
from booking_service.properties.model import Property, PropertyFilters
from booking_service.properties.photos import photos_of
from booking_service.properties.storage import PhotoStore, thumb_url
from booking_service.serializers import property_detail_json, property_json
from common.near_cache import COPY_UNTIL_PROPERTIES_CHANGE, NearCache


class PropertyViews:
    def __init__(
        self,
        uow: UnitOfWork,
        cache: PropertyCache,
        near: NearCache[bytes] | None = None,
        store: PhotoStore | None = None,
    ) -> None:
        self.uow = uow
        self.cache = cache
        self.near = near or NearCache(None, channel="")
        self.store = store

    @staticmethod
    def follows_property_changes(filters: PropertyFilters) -> bool:
        """Whether the search's answer changes only when a property does (what every copy of it assumes).
        Date-window searches depend on bookings, which change far more often than properties."""
        return filters.free_from is None

    def copy_mark(self, filters: PropertyFilters | None = None) -> str | None:
        """The gateway's licence to copy a search's (or, without filters, a property's) answer until the
        properties change: only while this service announces those changes (common.near_cache)."""
        if not self.near.enabled or (filters is not None and not self.follows_property_changes(filters)):
            return None
        return COPY_UNTIL_PROPERTIES_CHANGE

    def search(self, filters: PropertyFilters, *, use_cache: bool = True) -> bytes:
        if not use_cache or not self.follows_property_changes(filters):
            return self._list_from_db(filters)
        return self.near.read_through(f"list:{filters!r}", lambda: self._list_from_cluster(filters))

    def _list_from_cluster(self, filters: PropertyFilters) -> bytes:
        generation = self.cache.generation()
        variant = json.dumps(asdict(filters), default=str, sort_keys=True)
        encoded = self.cache.get_list(generation, variant)
        if encoded is None:
            encoded = self._list_from_db(filters)
            self.cache.set_list(generation, variant, encoded)
        return encoded

    def get(self, property_id: int) -> bytes:
        return self.near.read_through(f"item:{property_id}", lambda: self._item_from_cluster(property_id))

    def _item_from_cluster(self, property_id: int) -> bytes:
        generation = self.cache.generation()
        encoded = self.cache.get_item(generation, property_id)
        if encoded is None:
            prop = self.uow.read(lambda tx: tx.properties.get(property_id))
            if prop is None:
                raise errors.PropertyNotFound
            encoded = orjson.dumps(self.detail(prop))
            self.cache.set_item(generation, property_id, encoded)
        return encoded

    def _list_from_db(self, filters: PropertyFilters) -> bytes:
        found = self.uow.read(lambda tx: tx.properties.search(filters))
        return orjson.dumps([self.card(prop) for prop in found])

    def detail(self, prop: Property) -> dict:
        """The property's JSON with `photos` when it has any (unset fields are left out, as before)."""
        photos = photos_of(self.store, prop.id) if self.store else []
        return property_detail_json(prop, photos or None)

    def card(self, prop: Property) -> dict:
        """A search result: the seed's fields, plus the first photo's thumbnail when there is one."""
        found = property_json(prop)
        if self.store and (ids := self.store.list(prop.id)):
            found["thumbUrl"] = thumb_url(prop.id, ids[0])
        return found
