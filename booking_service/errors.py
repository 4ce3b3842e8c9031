"""Domain exceptions of the booking service: what went wrong, in business terms. `api.ERRORS` decides the
HTTP answer (status, the seed's JSON key, the message) for each, once."""

from __future__ import annotations

import datetime as dt


class DomainError(Exception):
    """A business rule refused the request."""


class PropertyNotFound(DomainError):
    """No live property with this id."""


class PropertyUnavailable(DomainError):
    """The property does not exist, is retired, or is not open for booking."""


class NotPropertyOwner(DomainError):
    """The caller neither owns the property nor is an admin."""


class HasUpcomingBookings(DomainError):
    """A property with confirmed stays ahead cannot be retired."""


class BlockNotFound(DomainError):
    """No such date block on this property."""


class BookingNotFound(DomainError):
    """Unknown booking, or one the caller may not see (never say which)."""


class DatesTaken(DomainError):
    """A confirmed booking or an owner's block already covers one of the nights."""


class AlreadyCancelled(DomainError):
    """The booking was cancelled before."""


class BookForSelfOnly(DomainError):
    """Only an admin may book for someone else."""


class UnknownUser(DomainError):
    """An admin booked for a user id the user directory does not know."""


class OwnProperty(DomainError):
    """A host tried to book their own listing."""


class TooManyGuests(DomainError):
    """More guests than the property's `maxGuests`."""


class TotalTooLarge(DomainError):
    """The stay's total does not fit the total_price column."""


class IdempotencyKeyReused(DomainError):
    """The key was already used with a different request."""


class IdempotencyKeyTaken(DomainError):
    """A concurrent request with the same key committed first (internal: the service replays it)."""


class NotAPhoto(DomainError):
    """The uploaded bytes are not a JPEG, PNG or WebP image (whatever the request claimed)."""


class PhotoTooLarge(DomainError):
    """The upload is over the photo route's byte limit."""


class PhotoTooManyPixels(DomainError):
    """The image is wider or taller than the photo bounds (or a decompression bomb)."""


class TooManyPhotos(DomainError):
    """The listing already has the most photos it may have."""


class PhotoNotFound(DomainError):
    """No such photo on this listing."""


class StartInPast(DomainError):
    """A stay or a block starts before the property's local today."""


class BeyondHorizon(DomainError):
    """A stay or a block reaches past the property's booking horizon (`field` is the date's JSON name)."""

    def __init__(self, field: str, latest: dt.date) -> None:
        super().__init__(field, latest)
        self.field = field
        self.latest = latest
