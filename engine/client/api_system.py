"""System, network and volume endpoints of the low-level client, and Wharf's journal."""

from __future__ import annotations

import json
from typing import Any

from engine.client.api_base import APIClientBase
from engine.client.api_containers import _ident, _unix
from engine.client.streams import CancellableStream


class SystemApiMixin(APIClientBase):
    """``/_ping``, ``/version``, ``/info``, ``/system/df``, ``/events``, ``/auth``, ``/wharf/journal``."""

    def ping(self) -> bool:
        """True if the engine answers ``OK``.

        Raises:
            EngineUnreachable: nothing answers.
            APIError: it answered with an error.
        """
        return self._result(self._get(self._url("/_ping"))) == "OK"

    def version(self, api_version: bool = True) -> dict[str, Any]:
        """The engine's ``/version`` document."""
        return self._result(self._get(self._url("/version", versioned=api_version)), True)

    def info(self) -> dict[str, Any]:
        """The engine's ``/info`` document."""
        return self._result(self._get(self._url("/info")), True)

    def df(self) -> dict[str, Any]:
        """Disk usage of images, containers and volumes."""
        return self._result(self._get(self._url("/system/df")), True)

    def events(self, since: Any = None, until: Any = None, filters: dict[str, Any] | None = None,
               decode: bool | None = None) -> CancellableStream:
        """A stream of Docker's object events (dicts with ``decode``); close it to stop."""
        params = {"since": _unix(since), "until": _unix(until),
                  "filters": json.dumps(filters) if filters else None}
        response = self._get(self._url("/events"), params=params, stream=True)
        return self._stream_json(response, bool(decode))

    def login(self, username: str, password: str | None = None, email: str | None = None,
              registry: str | None = None, reauth: bool = False,
              dockercfg_path: str | None = None) -> dict[str, Any]:
        """Check credentials with a registry through the engine."""
        body = {"username": username, "password": password, "email": email, "serveraddress": registry}
        return self._result(self._post_json(self._url("/auth"), body), True)

    def journal(self, since: int | None = 0, follow: bool = True, decode: bool = True) -> CancellableStream:
        """Wharf's journal: every engine event (jobs, steps, progress, objects) as they happen.

        Args:
            since: replay remembered events after this sequence number first
                (``None``: only new ones).
            follow: keep streaming new events (``False``: end after the history).
            decode: dicts instead of raw JSON bytes.
        """
        params = {"since": since, "follow": follow}
        response = self._get(self._url("/wharf/journal", versioned=False), params=params, stream=True)
        return self._stream_json(response, decode)


class NetworkApiMixin(APIClientBase):
    """``/networks/...`` endpoints."""

    def networks(self, names: list[str] | None = None, ids: list[str] | None = None,
                 filters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """List networks."""
        filters = dict(filters or {})
        if names:
            filters["name"] = names
        if ids:
            filters["id"] = ids
        params = {"filters": json.dumps(filters) if filters else None}
        return self._result(self._get(self._url("/networks"), params=params), True)

    def create_network(self, name: str, driver: str | None = None, options: dict[str, str] | None = None,
                       ipam: dict[str, Any] | None = None, check_duplicate: bool | None = None,
                       internal: bool = False, labels: dict[str, str] | None = None,
                       enable_ipv6: bool = False, attachable: bool | None = None,
                       scope: str | None = None, ingress: bool | None = None) -> dict[str, Any]:
        """Create a network; ``{"Id": …, "Warning": …}``."""
        data = {"Name": name, "Driver": driver, "Options": options, "IPAM": ipam,
                "Internal": internal or None, "Labels": labels, "EnableIPv6": enable_ipv6 or None,
                "Attachable": attachable, "Scope": scope}
        return self._result(self._post_json(self._url("/networks/create"), data), True)

    def inspect_network(self, net_id: str, verbose: bool | None = None,
                        scope: str | None = None) -> dict[str, Any]:
        """One network."""
        return self._result(self._get(self._url("/networks/{0}", net_id)), True)

    def remove_network(self, net_id: str) -> None:
        """Remove a network."""
        self._raise_for_status(self._delete(self._url("/networks/{0}", net_id)))

    def connect_container_to_network(self, container: Any, net_id: str, ipv4_address: str | None = None,
                                     ipv6_address: str | None = None, aliases: list[str] | None = None,
                                     links: Any = None, link_local_ips: Any = None,
                                     driver_opt: Any = None, mac_address: str | None = None) -> None:
        """Connect a container to a network."""
        endpoint: dict[str, Any] = {"Aliases": aliases, "MacAddress": mac_address}
        if ipv4_address or ipv6_address:
            endpoint["IPAMConfig"] = {"IPv4Address": ipv4_address, "IPv6Address": ipv6_address}
        data = {"Container": _ident(container),
                "EndpointConfig": {k: v for k, v in endpoint.items() if v is not None}}
        self._raise_for_status(self._post_json(self._url("/networks/{0}/connect", net_id), data))

    def disconnect_container_from_network(self, container: Any, net_id: str, force: bool = False) -> None:
        """Disconnect a container from a network."""
        data = {"Container": _ident(container), "Force": force}
        self._raise_for_status(self._post_json(self._url("/networks/{0}/disconnect", net_id), data))

    def prune_networks(self, filters: dict[str, Any] | None = None) -> dict[str, Any]:
        """Remove unused networks."""
        params = {"filters": json.dumps(filters) if filters else None}
        return self._result(self._post(self._url("/networks/prune"), params=params), True)


class VolumeApiMixin(APIClientBase):
    """``/volumes/...`` endpoints."""

    def volumes(self, filters: dict[str, Any] | None = None) -> dict[str, Any]:
        """``{"Volumes": […], "Warnings": …}``."""
        params = {"filters": json.dumps(filters) if filters else None}
        return self._result(self._get(self._url("/volumes"), params=params), True)

    def create_volume(self, name: str | None = None, driver: str | None = None,
                      driver_opts: dict[str, str] | None = None,
                      labels: dict[str, str] | None = None) -> dict[str, Any]:
        """Create a volume."""
        data = {"Name": name, "Driver": driver, "DriverOpts": driver_opts, "Labels": labels}
        return self._result(self._post_json(self._url("/volumes/create"), data), True)

    def inspect_volume(self, name: str) -> dict[str, Any]:
        """One volume."""
        return self._result(self._get(self._url("/volumes/{0}", name)), True)

    def remove_volume(self, name: str, force: bool = False) -> None:
        """Remove a volume."""
        self._raise_for_status(self._delete(self._url("/volumes/{0}", name), params={"force": force}))

    def prune_volumes(self, filters: dict[str, Any] | None = None) -> dict[str, Any]:
        """Remove unused volumes."""
        params = {"filters": json.dumps(filters) if filters else None}
        return self._result(self._post(self._url("/volumes/prune"), params=params), True)


__all__ = ["SystemApiMixin", "NetworkApiMixin", "VolumeApiMixin"]
