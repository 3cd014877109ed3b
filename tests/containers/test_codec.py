"""The record codec round-trips the engine's nested specs."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.codec import from_json, to_json


@dataclass
class Inner:
    name: str
    size: int = 0


@dataclass
class Outer:
    inner: Inner
    items: list[Inner] = field(default_factory=list)
    mapping: dict[str, Inner] = field(default_factory=dict)
    pair: tuple[int, int] | None = None
    maybe: Inner | None = None
    plain: list[str] = field(default_factory=list)


def test_round_trip_of_nested_dataclasses() -> None:
    value = Outer(Inner("a", 1), [Inner("b")], {"k": Inner("c", 3)}, (24, 80), Inner("d"), ["x"])
    data = to_json(value)
    assert data["pair"] == [24, 80]
    assert from_json(Outer, data) == value


def test_unknown_keys_are_ignored_and_missing_ones_take_defaults() -> None:
    assert from_json(Outer, {"inner": {"name": "a", "gone": 1}, "removed": 2}) == Outer(Inner("a"))
