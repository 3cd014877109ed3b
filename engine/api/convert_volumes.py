"""Docker JSON of volumes and networks, and their create bodies."""

from __future__ import annotations

from typing import Any

from engine.model import IPAMPool, NetworkCreateSpec, NetworkInfo, VolumeCreateSpec, VolumeInfo
from engine.api.timefmt import rfc3339_nano
from engine.errors import InvalidSpec


def volume_json(volume: VolumeInfo) -> dict[str, Any]:
    """One volume as ``GET /volumes/{name}`` shows it."""
    document: dict[str, Any] = {
        "CreatedAt": rfc3339_nano(volume.created).replace(".000000000Z", "Z"),
        "Driver": volume.driver,
        "Labels": dict(volume.labels) or None,
        "Mountpoint": volume.mountpoint,
        "Name": volume.name,
        "Options": dict(volume.options) or None,
        "Scope": volume.scope,
    }
    if volume.size >= 0 or volume.ref_count >= 0:
        document["UsageData"] = {"Size": volume.size, "RefCount": volume.ref_count}
    return document


def volume_create_spec(body: dict[str, Any]) -> VolumeCreateSpec:
    """``POST /volumes/create``."""
    try:
        return VolumeCreateSpec(
            name=str(body.get("Name") or ""), driver=str(body.get("Driver") or "local"),
            driver_opts={str(k): str(v) for k, v in (body.get("DriverOpts") or {}).items()},
            labels={str(k): str(v) for k, v in (body.get("Labels") or {}).items()})
    except (AttributeError, TypeError) as exc:
        raise InvalidSpec(f"invalid volume config: {exc}") from None


def network_json(network: NetworkInfo) -> dict[str, Any]:
    """One network as ``GET /networks/{id}`` shows it."""
    return {
        "Name": network.name,
        "Id": network.id,
        "Created": rfc3339_nano(network.created),
        "Scope": network.scope,
        "Driver": network.driver,
        "EnableIPv6": network.enable_ipv6,
        "IPAM": {"Driver": "default", "Options": None,
                 "Config": [{k: v for k, v in (("Subnet", p.subnet), ("Gateway", p.gateway),
                                               ("IPRange", p.ip_range)) if v} for p in network.pools]},
        "Internal": network.internal,
        "Attachable": network.attachable,
        "Ingress": False,
        "ConfigFrom": {"Network": ""},
        "ConfigOnly": False,
        "Containers": {e.container_id: {"Name": e.name, "EndpointID": e.endpoint_id,
                                        "MacAddress": e.mac_address, "IPv4Address": e.ipv4_address,
                                        "IPv6Address": e.ipv6_address}
                       for e in network.endpoints},
        "Options": dict(network.options),
        "Labels": dict(network.labels),
    }


def network_create_spec(body: dict[str, Any]) -> NetworkCreateSpec:
    """``POST /networks/create``.

    Raises:
        InvalidSpec: no name, or wrong shapes.
    """
    name = body.get("Name")
    if not name or not isinstance(name, str):
        raise InvalidSpec("network name is required")
    try:
        ipam = body.get("IPAM") or {}
        return NetworkCreateSpec(
            name=name, driver=str(body.get("Driver") or "bridge"), internal=bool(body.get("Internal")),
            attachable=bool(body.get("Attachable")), enable_ipv6=bool(body.get("EnableIPv6")),
            pools=[IPAMPool(str(c.get("Subnet") or ""), str(c.get("Gateway") or ""),
                            str(c.get("IPRange") or "")) for c in ipam.get("Config") or []],
            options={str(k): str(v) for k, v in (body.get("Options") or {}).items()},
            labels={str(k): str(v) for k, v in (body.get("Labels") or {}).items()})
    except (AttributeError, TypeError) as exc:
        raise InvalidSpec(f"invalid network config: {exc}") from None
