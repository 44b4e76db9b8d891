"""E-mail over SMTP (aiosmtplib): a text part and an HTML alternative."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from reminders.notifiers import DeliveryFailed, Message
from reminders.settings import RemindersSettings


class SmtpNotifier:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 10.0,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password = username, password
        self.starttls, self.timeout = starttls, timeout

    @classmethod
    def from_settings(cls, settings: RemindersSettings) -> SmtpNotifier:
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            starttls=settings.smtp_starttls,
            timeout=settings.smtp_timeout_seconds,
        )

    def compose(self, message: Message) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = message.to
        email["Subject"] = message.subject or ""
        email["Message-ID"] = f"<{message.notification_id}@clinicpay>"
        email.set_content(message.text)
        if message.html:
            email.add_alternative(message.html, subtype="html")
        return email

    async def send(self, message: Message) -> None:
        try:
            await aiosmtplib.send(
                self.compose(message),
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                start_tls=self.starttls,
                use_tls=False,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused:
            raise DeliveryFailed("smtp_recipient_refused", permanent=True) from None
        except aiosmtplib.SMTPResponseException as error:
            raise DeliveryFailed(f"smtp_{error.code}", permanent=500 <= error.code < 600) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            raise DeliveryFailed("smtp_unavailable", permanent=False) from None
