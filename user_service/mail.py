"""Outgoing mail over SMTP (`make run` starts a local sink; production points SMTP_HOST at a relay)."""

from __future__ import annotations

import logging
import smtplib
import threading
from email.message import EmailMessage
from email.policy import SMTP

log = logging.getLogger(__name__)
SMTP_TIMEOUT_SECONDS = 5.0
# Long lines stay whole (7bit, not quoted-printable): the reset link can be copied straight from the mail.
POLICY = SMTP.clone(max_line_length=998)  # RFC 5322 hard limit


class Mailer:
    def __init__(self, host: str | None, port: int, sender: str) -> None:
        self._host, self._port, self._sender = host, port, sender

    @property
    def enabled(self) -> bool:
        return bool(self._host)

    def send_later(self, to: str, subject: str, body: str) -> None:
        """Sends on a background thread: the request's answer (and its timing) never waits on SMTP."""
        message = EmailMessage(policy=POLICY)
        message["From"], message["To"], message["Subject"] = self._sender, to, subject
        message.set_content(body)
        threading.Thread(target=self._send, args=(message,), daemon=True, name="mail").start()

    def _send(self, message: EmailMessage) -> None:
        if not self._host:
            log.warning("SMTP_HOST is not set: mail %r not sent", message["Subject"])
            return
        try:
            with smtplib.SMTP(self._host, self._port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            log.error("mail %r not sent: %s", message["Subject"], type(exc).__name__)
