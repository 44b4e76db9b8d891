"""SMS through a Twilio-style HTTP API: POST /2010-04-01/Accounts/{sid}/Messages.json with
To, From and Body, basic auth. And the inbound side: STOP / START replies, signed the way
Twilio signs its webhooks."""

from __future__ import annotations

import base64
import hashlib
import hmac

import httpx

from reminders.notifiers import DeliveryFailed, Message
from reminders.settings import RemindersSettings

# Provider error codes that no retry can fix: invalid or unreachable number, unsubscribed.
PERMANENT_CODES = frozenset({21211, 21214, 21610, 21612, 21614, 30003, 30005, 30006})
OPT_OUT = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT"})
OPT_IN = frozenset({"START", "YES", "UNSTOP"})


class HttpSmsNotifier:
    def __init__(
        self, *, api_url: str, account_sid: str, auth_token: str, sender: str, timeout=10.0
    ):
        self.url = f"{api_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self.auth = (account_sid, auth_token)
        self.sender = sender
        self.timeout = timeout

    @classmethod
    def from_settings(cls, settings: RemindersSettings) -> HttpSmsNotifier:
        if not (settings.sms_account_sid and settings.sms_auth_token and settings.sms_from):
            raise ValueError("SMS over HTTP needs SMS_ACCOUNT_SID, SMS_AUTH_TOKEN and SMS_FROM")
        return cls(
            api_url=settings.sms_api_url,
            account_sid=settings.sms_account_sid,
            auth_token=settings.sms_auth_token.get_secret_value(),
            sender=settings.sms_from,
        )

    async def send(self, message: Message) -> None:
        form = {"To": message.to, "From": self.sender, "Body": message.text}
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.post(self.url, data=form, auth=self.auth)
        except httpx.HTTPError:
            raise DeliveryFailed("sms_unavailable", permanent=False) from None
        if response.status_code in (200, 201):
            return
        code = _error_code(response)
        if code in PERMANENT_CODES:
            raise DeliveryFailed(f"sms_{code}", permanent=True)
        transient = response.status_code == 429 or response.status_code >= 500
        raise DeliveryFailed(f"sms_http_{response.status_code}", permanent=not transient)


def _error_code(response: httpx.Response) -> int | None:
    try:
        code = response.json().get("code")
    except ValueError:
        return None
    return code if isinstance(code, int) else None


def keyword(body: str) -> str | None:
    """`stop`, `start` or None for the words an inbound SMS may carry."""
    word = body.strip().upper().rstrip(".!")
    if word in OPT_OUT:
        return "stop"
    if word in OPT_IN:
        return "start"
    return None


def signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """Twilio's X-Twilio-Signature: HMAC-SHA1 over the URL and the sorted form fields."""
    payload = url + "".join(f"{key}{params[key]}" for key in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signature_is_valid(auth_token: str, url: str, params: dict[str, str], given: str) -> bool:
    return hmac.compare_digest(signature(auth_token, url, params), given or "")
