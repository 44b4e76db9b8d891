"""A clinic's reminder policy: which steps around an invoice's due date send a notice, on
which channels, at what hours of the clinic's day, and below which balance to stay quiet.
No I/O: the API parses it, the schedule applies it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import time

CHANNELS = ("email", "sms")
STEP_NAME = re.compile(r"^(issued|due|due[+-]\d{1,3})$")
MAX_STEPS = 12
MAX_OFFSET_DAYS = 365


class InvalidPolicy(ValueError):
    """The policy cannot be applied as written."""


@dataclass(frozen=True)
class Step:
    """`issued`, `due`, or `due-3` / `due+7`: days before or after the due date."""

    name: str
    channels: tuple[str, ...] = ("email",)

    @property
    def offset_days(self) -> int | None:
        if self.name == "issued":
            return None
        return int(self.name[3:] or 0)

    @property
    def kind(self) -> str:
        offset = self.offset_days
        if offset is None:
            return "invoice_issued"
        if offset < 0:
            return "invoice_upcoming"
        return "invoice_due" if offset == 0 else "invoice_overdue"

    def check(self) -> None:
        if not STEP_NAME.match(self.name):
            raise InvalidPolicy(f"step {self.name!r}: use issued, due, due-N or due+N")
        if self.offset_days is not None and abs(self.offset_days) > MAX_OFFSET_DAYS:
            raise InvalidPolicy(f"step {self.name!r}: at most {MAX_OFFSET_DAYS} days away")
        if not self.channels or set(self.channels) - set(CHANNELS):
            raise InvalidPolicy(f"step {self.name!r}: channels are one or more of {CHANNELS}")
        if len(set(self.channels)) != len(self.channels):
            raise InvalidPolicy(f"step {self.name!r}: a channel is listed twice")


@dataclass(frozen=True)
class QuietHours:
    """Notices go out between `send_after` and `send_before`, clinic time; else they wait."""

    send_after: time = time(8, 0)
    send_before: time = time(20, 0)

    def check(self) -> None:
        if self.send_after >= self.send_before:
            raise InvalidPolicy("quiet hours: send_after must be earlier than send_before")


@dataclass(frozen=True)
class ReminderPolicy:
    steps: tuple[Step, ...] = field(
        default_factory=lambda: tuple(
            Step(name) for name in ("issued", "due-3", "due", "due+7", "due+14", "due+30")
        )
    )
    quiet_hours: QuietHours = field(default_factory=QuietHours)
    floor_amount: int | None = None  # minor units: no notice while less than this is owed

    def check(self) -> ReminderPolicy:
        if len(self.steps) > MAX_STEPS:
            raise InvalidPolicy(f"at most {MAX_STEPS} steps")
        names = [step.name for step in self.steps]
        if len(set(names)) != len(names):
            raise InvalidPolicy("a step is listed twice")
        for step in self.steps:
            step.check()
        self.quiet_hours.check()
        if self.floor_amount is not None and not 0 <= self.floor_amount <= 100_000_00:
            raise InvalidPolicy("floor_amount is between 0 and 10,000,000 minor units")
        return self

    def step(self, name: str) -> Step | None:
        return next((step for step in self.steps if step.name == name), None)

    def below_floor(self, amount_due: int) -> bool:
        return self.floor_amount is not None and amount_due < self.floor_amount

    def to_json(self) -> dict:
        return {
            "steps": [{"step": s.name, "channels": list(s.channels)} for s in self.steps],
            "quiet_hours": {
                "send_after": self.quiet_hours.send_after.strftime("%H:%M"),
                "send_before": self.quiet_hours.send_before.strftime("%H:%M"),
            },
            "floor_amount": self.floor_amount,
        }

    @classmethod
    def from_json(cls, document: dict) -> ReminderPolicy:
        quiet = document.get("quiet_hours") or {}
        return cls(
            steps=tuple(
                Step(s["step"], tuple(s.get("channels") or ("email",))) for s in document["steps"]
            ),
            quiet_hours=QuietHours(
                time.fromisoformat(quiet.get("send_after", "08:00")),
                time.fromisoformat(quiet.get("send_before", "20:00")),
            ),
            floor_amount=document.get("floor_amount"),
        ).check()
