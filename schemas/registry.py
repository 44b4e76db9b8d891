"""Every event type clinicpay publishes, by its CloudEvents `type`, with its schema and model."""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from pydantic import BaseModel

from contracts.generate import SCHEMA_NAME, SCHEMAS_DIR, class_name, module_name, schema_files


class UnknownEventType(LookupError):
    pass


class InvalidEvent(ValueError):
    pass


@dataclass(frozen=True)
class EventContract:
    type: str
    context: str
    name: str
    version: int
    schema_path: Path

    @property
    def topic(self) -> str:
        return f"clinicpay.{self.context}.v{self.version}"

    @property
    def source(self) -> str:
        return f"clinicpay/{self.context}"

    @property
    def model(self) -> type[BaseModel]:
        module = importlib.import_module(f"contracts.models.{module_name(self.schema_path)}")
        return getattr(module, class_name(self.schema_path))

    @property
    def schema(self) -> dict[str, Any]:
        return json.loads(self.schema_path.read_text())

    def validate(self, data: dict[str, Any]) -> BaseModel:
        """Check `data` against the JSON Schema, then parse it into the model."""
        try:
            _validator(self.schema_path).validate(data)
        except ValidationError as error:
            raise InvalidEvent(f"{self.type}: {error.message}") from None
        return self.model.model_validate(data)


@cache
def _validator(path: Path) -> Draft202012Validator:
    schema = json.loads(path.read_text())
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


@cache
def contracts() -> dict[str, EventContract]:
    found = {}
    for path in schema_files():
        if path.parent == SCHEMAS_DIR:  # the envelope, not an event
            continue
        match = SCHEMA_NAME.match(path.name)
        assert match
        context = path.parent.name
        version = int(match["version"])
        event_type = f"clinicpay.{context}.{match['name']}.v{version}"
        found[event_type] = EventContract(event_type, context, match["name"], version, path)
    return found


def contract_for(event_type: str) -> EventContract:
    try:
        return contracts()[event_type]
    except KeyError:
        raise UnknownEventType(event_type) from None


def contract_named(context: str, name: str, version: int = 1) -> EventContract:
    return contract_for(f"clinicpay.{context}.{name}.v{version}")
