"""Which changes to a published schema version break its consumers.

Within a version a schema may only gain optional properties (objects stay open,
`additionalProperties: true`, so old consumers ignore them) and change its annotations.
Everything else - a removed or newly required property, a changed type, format, enum,
bound or pattern - breaks either old consumers reading new events or new consumers
replaying old ones, and needs a new version.
"""

from __future__ import annotations

from typing import Any

ANNOTATIONS = frozenset({"title", "description", "examples", "$comment", "$id", "deprecated"})


def breaking_changes(old: Any, new: Any, path: str = "$") -> list[str]:
    if not isinstance(old, dict) or not isinstance(new, dict):
        return [] if old == new else [f"{path}: changed from {old!r} to {new!r}"]
    problems: list[str] = []
    for key in sorted((old.keys() | new.keys()) - ANNOTATIONS):
        where = f"{path}.{key}"
        if key not in new:
            problems.append(f"{where}: removed")
        elif key not in old:
            if key not in ("properties", "$defs"):
                problems.append(f"{where}: added a constraint")
        elif key == "properties":
            problems += _properties(old[key], new[key], where)
        elif key == "$defs":
            problems += [f"{where}.{name}: removed" for name in old[key] if name not in new[key]]
            problems += [
                p
                for name in old[key]
                if name in new[key]
                for p in breaking_changes(old[key][name], new[key][name], f"{where}.{name}")
            ]
        elif key == "required":
            if set(old[key]) != set(new[key]):
                problems.append(f"{where}: changed from {sorted(old[key])} to {sorted(new[key])}")
        else:
            problems += breaking_changes(old[key], new[key], where)
    return problems


def _properties(old: dict[str, Any], new: dict[str, Any], path: str) -> list[str]:
    problems = [f"{path}.{name}: removed" for name in old if name not in new]
    for name in old:
        if name in new:
            problems += breaking_changes(old[name], new[name], f"{path}.{name}")
    return problems
