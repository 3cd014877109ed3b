"""Images, networks and volumes as objects (``client.images``, ``.networks``, ``.volumes``)."""

from __future__ import annotations

import builtins
from typing import Any

from engine.client.api_images import split_repository_tag
from engine.client.errors import DockerException
from engine.client.models_resource import Collection, Model


class Image(Model):
    """One image; :attr:`attrs` is its inspect document."""

    def __repr__(self) -> str:
        return f"<Image: '{', '.join(self.tags)}'>"

    @property
    def short_id(self) -> str:
        """``sha256:`` and the first 12 hex digits, as docker-py shows it."""
        return self.id[:19] if self.id.startswith("sha256:") else self.id[:12]

    @property
    def tags(self) -> list[str]:
        """Its references, without ``<none>:<none>``."""
        return [t for t in self.attrs.get("RepoTags") or [] if t != "<none>:<none>"]

    @property
    def labels(self) -> dict[str, str]:
        """Its labels."""
        return dict((self.attrs.get("Config") or {}).get("Labels") or {})

    def history(self) -> list[dict[str, Any]]:
        """Its history."""
        return self.client.api.history(self.id)

    def save(self, chunk_size: int | None = 2 * 1024 * 1024, named: str | bool = False) -> Any:
        """Docker's archive of it, as chunks of bytes; ``named`` keeps a tag (True: the first)."""
        name = self.id
        if named:
            name = self.tags[0] if named is True and self.tags else name
            if isinstance(named, str):
                if named not in self.tags:
                    raise DockerException(f"{named} is not a tag of this image")
                name = named
        return self.client.api.get_image(name, chunk_size)

    def tag(self, repository: str, tag: str | None = None, **kwargs: Any) -> bool:
        """Give it another reference."""
        return self.client.api.tag(self.id, repository, tag=tag, **kwargs)

    def remove(self, force: bool = False, noprune: bool = False) -> builtins.list[dict[str, str]]:
        """Remove it."""
        return self.client.api.remove_image(self.id, force=force, noprune=noprune)


class ImageCollection(Collection):
    """``client.images``."""

    model = Image

    def get(self, name: str) -> Image:
        """One image by reference or ID.

        Raises:
            ImageNotFound: no such image.
        """
        return self.prepare_model(self.client.api.inspect_image(name))  # type: ignore[return-value]

    def list(self, name: str | None = None, all: bool = False,
             filters: dict[str, Any] | None = None) -> list[Image]:
        """Local images (matching ``name`` if given)."""
        return [self.get(i["Id"]) for i in self.client.api.images(name=name, all=all, filters=filters)]

    def pull(self, repository: str, tag: str | None = None, all_tags: bool = False,
             **kwargs: Any) -> Image:
        """Pull and return the image (a failed pull surfaces as ``ImageNotFound``)."""
        repo, parsed = split_repository_tag(repository)
        tag = tag or parsed or "latest"
        kwargs.pop("stream", None)
        for _ in self.client.api.pull(repo, tag=tag, stream=True, all_tags=all_tags, **kwargs):
            pass
        separator = "@" if tag.startswith("sha256:") else ":"
        return self.get(f"{repo}{separator}{tag}")

    def push(self, repository: str, tag: str | None = None, **kwargs: Any) -> Any:
        """Push (see :meth:`APIClient.push`)."""
        return self.client.api.push(repository, tag=tag, **kwargs)

    def load(self, data: Any) -> builtins.list[Image]:
        """Load an image archive (bytes or chunks); the images it named."""
        loaded: builtins.list[str] = []
        for message in self.client.api.load_image(data):
            line = str(message.get("stream") or "")
            for prefix in ("Loaded image ID: ", "Loaded image: "):
                if line.startswith(prefix):
                    loaded.append(line[len(prefix):].strip())
                    break
        return [self.get(name) for name in loaded]

    def tag(self, image: str, repository: str, tag: str | None = None) -> bool:
        """Give ``image`` the reference ``repository:tag``."""
        return self.client.api.tag(image, repository, tag=tag)

    def remove(self, image: str, force: bool = False, noprune: bool = False) -> builtins.list[dict[str, str]]:
        """Remove an image."""
        return self.client.api.remove_image(image, force=force, noprune=noprune)

    def prune(self, filters: dict[str, Any] | None = None) -> dict[str, Any]:
        """Remove dangling images."""
        return self.client.api.prune_images(filters=filters)


class Network(Model):
    """One network."""

    @property
    def name(self) -> str:
        """Its name."""
        return str(self.attrs.get("Name", ""))

    @property
    def containers(self) -> list[Any]:
        """The containers connected to it (as models)."""
        return [self.client.containers.get(cid) for cid in (self.attrs.get("Containers") or {})]

    def connect(self, container: Any, **kwargs: Any) -> None:
        """Connect a container."""
        self.client.api.connect_container_to_network(container, self.id, **kwargs)

    def disconnect(self, container: Any, force: bool = False) -> None:
        """Disconnect a container."""
        self.client.api.disconnect_container_from_network(container, self.id, force=force)

    def remove(self) -> None:
        """Remove the network."""
        self.client.api.remove_network(self.id)


class NetworkCollection(Collection):
    """``client.networks``."""

    model = Network

    def create(self, name: str, **kwargs: Any) -> Network:
        """Create a network and return it."""
        return self.get(self.client.api.create_network(name, **kwargs)["Id"])

    def get(self, network_id: str) -> Network:
        """One network by name or ID."""
        return self.prepare_model(self.client.api.inspect_network(network_id))  # type: ignore[return-value]

    def list(self, names: list[str] | None = None, ids: list[str] | None = None,
             filters: dict[str, Any] | None = None) -> list[Network]:
        """Networks."""
        return [self.prepare_model(n) for n in self.client.api.networks(names=names, ids=ids,  # type: ignore[misc]
                                                                        filters=filters)]

    def prune(self, filters: dict[str, Any] | None = None) -> dict[str, Any]:
        """Remove unused networks."""
        return self.client.api.prune_networks(filters=filters)


class Volume(Model):
    """One volume (its ID is its name)."""

    id_attribute = "Name"

    @property
    def name(self) -> str:
        """Its name."""
        return self.id

    def remove(self, force: bool = False) -> None:
        """Remove it."""
        self.client.api.remove_volume(self.id, force=force)


class VolumeCollection(Collection):
    """``client.volumes``."""

    model = Volume

    def create(self, name: str | None = None, **kwargs: Any) -> Volume:
        """Create a volume and return it."""
        return self.prepare_model(self.client.api.create_volume(name, **kwargs))  # type: ignore[return-value]

    def get(self, volume_id: str) -> Volume:
        """One volume by name."""
        return self.prepare_model(self.client.api.inspect_volume(volume_id))  # type: ignore[return-value]

    def list(self, filters: dict[str, Any] | None = None) -> list[Volume]:
        """Volumes."""
        found = self.client.api.volumes(filters=filters).get("Volumes") or []
        return [self.prepare_model(v) for v in found]  # type: ignore[misc]

    def prune(self, filters: dict[str, Any] | None = None) -> dict[str, Any]:
        """Remove unused volumes."""
        return self.client.api.prune_volumes(filters=filters)
