"""Domain exceptions of the user service (no HTTP); `api.ERRORS` gives each its status and message once."""

from __future__ import annotations


class DomainError(Exception):
    """A business rule refused the request."""


class UserExists(DomainError):
    """The username or email belongs to another account."""


class InvalidCredentials(DomainError):
    """Unknown email or wrong password (never say which)."""


class LoginThrottled(DomainError):
    """Too many failed logins for this email or address; try again after `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


class PasswordChecksBusy(DomainError):
    """Every password thread stayed taken for longer than a client should wait (a flood of logins, or
    a machine with no CPU to spare): nothing was checked or written; try again after `retry_after` s."""

    def __init__(self, retry_after: int = 1) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


class InvalidSession(DomainError):
    """The token's session ended (logout, password or role change) before a refresh."""


class UserNotFound(DomainError):
    """No such (live) user."""


class WrongPassword(DomainError):
    """The current password given with a sensitive change is not the account's."""


class ResetLinkInvalid(DomainError):
    """A reset token that is malformed, expired, used, or older than the password."""
