"""Query-string values as Docker's clients send them: booleans, numbers, times, filters."""

from __future__ import annotations

import datetime
import json
import re
import time

from engine.api.http import Request
from engine.errors import InvalidArgument

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_DURATION = re.compile(r"(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+")
_FALSE = {"", "0", "no", "false", "none"}

Filters = dict[str, list[str]]
"""A parsed ``filters`` parameter: each key with its values (``{"label": ["a=b"]}``)."""


def bool_value(value: str | None) -> bool:
    """Moby's BoolValue: false only for ``""``, ``0``, ``no``, ``false``, ``none`` (any case)."""
    return value is not None and value.strip().lower() not in _FALSE


def flag(request: Request, name: str, default: bool = False) -> bool:
    """A boolean query parameter; absent gives ``default``."""
    value = request.arg(name)
    return default if value is None else bool_value(value)


def integer(request: Request, name: str, default: int | None = None) -> int | None:
    """An integer query parameter; absent or empty gives ``default``.

    Raises:
        InvalidArgument: not an integer.
    """
    value = request.arg(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise InvalidArgument(f"invalid value for {name}: {value!r} is not an integer") from None


def timestamp(value: str | None, name: str = "since") -> float | None:
    """A time as Docker's clients send it: Unix seconds, RFC 3339, or a Go duration ago (``"24h"``).

    Raises:
        InvalidArgument: neither form.
    """
    if value is None or value.strip() == "":
        return None
    text = value.strip()
    try:
        return float(text)
    except ValueError:
        pass
    if _DURATION.fullmatch(text):
        units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
        seconds = sum(float(n) * units[u] for n, u in _DURATION_PART.findall(text))
        return time.time() - seconds
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise InvalidArgument(f"invalid value for {name}: {value!r} is not a timestamp") from None


def filters(request: Request, allowed: set[str] | None = None) -> Filters:
    """The ``filters`` parameter, accepting both shapes.

    The docker CLI sends maps of booleans (``{"type":{"container":true}}``),
    docker-py lists (``{"reference":["alpine"]}``); a bare string is one value.

    Raises:
        InvalidArgument: not JSON, a wrong shape, or a key outside ``allowed``.
    """
    raw = request.arg("filters")
    if raw is None or raw.strip() == "":
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError:
        raise InvalidArgument(f"invalid filters: {raw!r} is not JSON") from None
    if not isinstance(parsed, dict):
        raise InvalidArgument("invalid filters: expected a JSON object")
    result: Filters = {}
    for key, value in parsed.items():
        if allowed is not None and key not in allowed:
            raise InvalidArgument(f"invalid filter '{key}'")
        if isinstance(value, dict):
            result[key] = [str(k) for k, on in value.items() if on]
        elif isinstance(value, list):
            result[key] = [str(v) for v in value]
        elif isinstance(value, str):
            result[key] = [value]
        else:
            raise InvalidArgument(f"invalid filter '{key}': expected a list or a map")
    return result


def filter_bool(values: list[str] | None, name: str) -> bool | None:
    """A filter that takes one boolean (``dangling``); ``None`` if not given.

    Raises:
        InvalidArgument: a value other than true/false/1/0.
    """
    if not values:
        return None
    lowered = {v.strip().lower() for v in values}
    if lowered <= {"true", "1"}:
        return True
    if lowered <= {"false", "0"}:
        return False
    raise InvalidArgument(f"invalid filter '{name}={values[0]}'")


def labels_match(labels: dict[str, str], wanted: list[str]) -> bool:
    """Whether ``labels`` satisfy every ``key`` / ``key=value`` in ``wanted``."""
    for item in wanted:
        key, eq, value = item.partition("=")
        if key not in labels or (eq and labels[key] != value):
            return False
    return True
