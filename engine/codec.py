"""Dataclasses to plain JSON data and back, for the engine's records on disk.

:func:`to_json` is :func:`dataclasses.asdict` with tuples kept as lists;
:func:`from_json` rebuilds nested dataclasses, lists, dicts, tuples and
optional fields from their type hints, ignoring keys the class no longer has
(so an older record still loads after a field was removed) and taking the
default for keys it lacks (so it loads after a field was added).
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from typing import Any, TypeVar

T = TypeVar("T")


def to_json(value: Any) -> Any:
    """``value`` as JSON-ready data (dataclasses become dicts)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    return value


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _build(kind: Any, data: Any) -> Any:
    if data is None:
        return None
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [option for option in typing.get_args(kind) if option is not type(None)]
        for option in options:
            if dataclasses.is_dataclass(option) and isinstance(data, dict):
                return from_json(option, data)
        return _build(options[0], data) if len(options) == 1 else data
    if dataclasses.is_dataclass(kind) and isinstance(data, dict):
        return from_json(kind, data)
    if origin is list and isinstance(data, list):
        (item,) = typing.get_args(kind) or (Any,)
        return [_build(item, entry) for entry in data]
    if origin is tuple and isinstance(data, list):
        args = typing.get_args(kind)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_build(args[0], entry) for entry in data)
        return tuple(_build(arg, entry) for arg, entry in zip(args, data, strict=False))
    if origin is dict and isinstance(data, dict):
        _key, value = typing.get_args(kind) or (Any, Any)
        return {key: _build(value, entry) for key, entry in data.items()}
    return data


def from_json(cls: type[T], data: dict[str, Any]) -> T:
    """Rebuild a ``cls`` instance from :func:`to_json` output."""
    hints = _hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    kwargs = {key: _build(hints[key], value) for key, value in data.items() if key in names}
    return cls(**kwargs)
