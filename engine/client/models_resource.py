"""The object layer's base: :class:`Model` (one engine object) and :class:`Collection`."""

from __future__ import annotations

from typing import Any


class Model:
    """One engine object, holding the engine's JSON in :attr:`attrs`.

    Args:
        attrs: the inspect (or list) document.
        client: the ``DockerClient`` it came from.
        collection: the collection that made it.
    """

    id_attribute = "Id"

    def __init__(self, attrs: dict[str, Any] | None = None, client: Any = None,
                 collection: Collection | None = None) -> None:
        self.client = client
        self.collection = collection
        self.attrs: dict[str, Any] = attrs or {}

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.short_id}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, type(self)) and self.id == other.id

    def __hash__(self) -> int:
        return hash(f"{type(self).__name__}:{self.id}")

    @property
    def id(self) -> str:
        """The object's ID."""
        return str(self.attrs.get(self.id_attribute, ""))

    @property
    def short_id(self) -> str:
        """The first 12 characters of the ID."""
        return self.id[:12]

    def reload(self) -> None:
        """Fetch :attr:`attrs` again from the engine."""
        assert self.collection is not None
        self.attrs = self.collection.get(self.id).attrs  # type: ignore[attr-defined]


class Collection:
    """A kind of object on one engine; ``model`` is the class it makes.

    Subclasses provide ``get(id_or_name)`` and ``list(...)`` (their arguments
    differ by kind, as in docker-py).

    Args:
        client: the ``DockerClient``.
    """

    model: type[Model] = Model

    def __init__(self, client: Any = None) -> None:
        self.client = client

    def prepare_model(self, attrs: Any) -> Model:
        """A model for ``attrs`` (a dict, or a model to adopt)."""
        if isinstance(attrs, Model):
            attrs.client = self.client
            attrs.collection = self
            return attrs
        if isinstance(attrs, dict):
            return self.model(attrs=attrs, client=self.client, collection=self)
        raise TypeError(f"cannot make a {self.model.__name__} from {attrs!r}")
