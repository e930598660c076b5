"""Frozen dataclasses <-> plain JSON-like dicts, driven by the type hints (one from_dict for all).

Specs, settings and per-video metadata all derive from `Record`: `to_dict` gives lists, dicts,
numbers and strings (enums by value); `from_dict` rebuilds nested records, tuples, enums and
floats from the field types, rejects unknown keys and falls back to a field's default only
where it has one, so a record read back is exactly the record written.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from typing import Any, ClassVar, TypeVar

R = TypeVar("R", bound="Record")

OMIT_IF_NONE = {"omit_if_none": True}  # field metadata: leave the key out of to_dict when None


class RecordError(ValueError):
    """A dict does not match a record's fields; `path` names the key (`camera.fov_y_deg`)."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


@dataclasses.dataclass(frozen=True)
class Record:
    """Base of frozen dataclasses: `to_dict` and a strict, type-driven `from_dict`. A (fieldless)
    dataclass itself, so jsonargparse still reads subclasses as plain dataclass groups."""

    _hints: ClassVar[dict[type, dict[str, Any]]] = {}

    def to_dict(self) -> dict[str, Any]:
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None and f.metadata.get("omit_if_none"):
                continue
            out[f.name] = to_plain(value)
        return out

    @classmethod
    def from_dict(cls: type[R], data: dict[str, Any], path: str = "") -> R:
        if not isinstance(data, dict):
            raise RecordError(path, f"expected a mapping for {cls.__name__}, got {data!r}")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise RecordError(path, f"unknown keys {unknown} for {cls.__name__}; "
                                    f"allowed: {sorted(fields)}")
        missing = sorted(name for name, f in fields.items() if name not in data
                         and f.default is dataclasses.MISSING
                         and f.default_factory is dataclasses.MISSING)
        if missing:
            raise RecordError(path, f"missing keys {missing} for {cls.__name__}")
        hints = Record._hints.get(cls)
        if hints is None:
            hints = Record._hints[cls] = typing.get_type_hints(cls)
        return cls(**{name: from_plain(hints[name], value, _join(path, name))
                      for name, value in data.items()})


def to_plain(value: Any) -> Any:
    """Records, enums and tuples -> dicts, values and lists (recursively)."""
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (tuple, list)):
        return [to_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    return value


def from_plain(hint: Any, value: Any, path: str = "") -> Any:
    """Rebuild `value` as the type `hint` says: records, enums, tuples, floats; others as they are."""
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        for option in options:
            if option is not type(None) and _matches(option, value):
                return from_plain(option, value, path)
        return value
    if isinstance(hint, type) and issubclass(hint, Record):
        return hint.from_dict(value, path)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return hint(value)
        except ValueError:
            allowed = [member.value for member in hint]
            raise RecordError(path, f"{value!r} is not one of {allowed}") from None
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise RecordError(path, f"expected a list, got {value!r}")
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(from_plain(args[0], v, f"{path}[{i}]") for i, v in enumerate(value))
        if len(args) != len(value):
            raise RecordError(path, f"expected {len(args)} items, got {list(value)!r}")
        return tuple(from_plain(a, v, f"{path}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
    if origin is dict:
        _, value_hint = typing.get_args(hint)
        return {k: from_plain(value_hint, v, _join(path, str(k))) for k, v in value.items()}
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _matches(option: Any, value: Any) -> bool:
    """Whether `value` can be read as the union member `option` (first match wins)."""
    origin = typing.get_origin(option) or option
    if isinstance(origin, type) and issubclass(origin, Record):
        return isinstance(value, dict)
    if origin in (tuple, list):
        return isinstance(value, (list, tuple))
    if origin is dict:
        return isinstance(value, dict)
    if origin is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(origin, type) and isinstance(value, origin)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
