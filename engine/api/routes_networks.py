"""Network and volume routes."""

from __future__ import annotations

from engine.api import filters as listing
from engine.api.convert_create import _strings
from engine.api.convert_volumes import network_create_spec, network_json, volume_create_spec, volume_json
from engine.api.http import Request
from engine.model import EndpointSpec
from engine.api.query import filters, flag
from engine.api.responses import AnyResponse, Response, empty_response, json_response
from engine.api.router import Api, json_object
from engine.errors import InvalidArgument

ID = r"(?P<id>[^/]+)"


async def list_networks(api: Api, request: Request) -> AnyResponse:
    """``GET /networks?filters=``."""
    wanted = filters(request, listing.NETWORK_FILTERS)
    return json_response([network_json(n) for n in listing.networks(await api.call("list_networks"), wanted)])


async def inspect_network(api: Api, request: Request) -> AnyResponse:
    """``GET /networks/{id}``."""
    return json_response(network_json(await api.call("inspect_network", request.params["id"])))


async def create_network(api: Api, request: Request) -> AnyResponse:
    """``POST /networks/create`` → 201 ``{"Id", "Warning"}``."""
    network_id, warning = await api.call("create_network", network_create_spec(json_object(request)))
    return json_response({"Id": network_id, "Warning": warning}, 201)


async def remove_network(api: Api, request: Request) -> AnyResponse:
    """``DELETE /networks/{id}`` → 204."""
    await api.call("remove_network", request.params["id"])
    return empty_response(204)


async def connect(api: Api, request: Request) -> AnyResponse:
    """``POST /networks/{id}/connect`` ``{"Container", "EndpointConfig"}`` → 200."""
    body = json_object(request)
    container = body.get("Container")
    if not container:
        raise InvalidArgument("a container is required")
    config = body.get("EndpointConfig") or {}
    ipam = config.get("IPAMConfig") or {}
    endpoint = EndpointSpec(aliases=_strings(config.get("Aliases"), "Aliases"),
                            ipv4_address=str(ipam.get("IPv4Address") or ""),
                            ipv6_address=str(ipam.get("IPv6Address") or ""),
                            mac_address=str(config.get("MacAddress") or ""))
    await api.call("connect_network", request.params["id"], str(container), endpoint)
    return Response(200)


async def disconnect(api: Api, request: Request) -> AnyResponse:
    """``POST /networks/{id}/disconnect`` ``{"Container", "Force"}`` → 200."""
    body = json_object(request)
    if not body.get("Container"):
        raise InvalidArgument("a container is required")
    await api.call("disconnect_network", request.params["id"], str(body["Container"]), bool(body.get("Force")))
    return Response(200)


async def prune_networks(api: Api, request: Request) -> AnyResponse:
    """``POST /networks/prune``."""
    result = await api.call("prune_networks", listing.prune_filter(filters(request)))
    return json_response({"NetworksDeleted": result.deleted or None})


async def list_volumes(api: Api, request: Request) -> AnyResponse:
    """``GET /volumes?filters=``."""
    wanted = filters(request, listing.VOLUME_FILTERS)
    volumes = listing.volumes(await api.call("list_volumes"), wanted)
    return json_response({"Volumes": [volume_json(v) for v in volumes], "Warnings": None})


async def inspect_volume(api: Api, request: Request) -> AnyResponse:
    """``GET /volumes/{name}``."""
    return json_response(volume_json(await api.call("inspect_volume", request.params["id"])))


async def create_volume(api: Api, request: Request) -> AnyResponse:
    """``POST /volumes/create`` → 201 with the volume."""
    return json_response(volume_json(await api.call("create_volume", volume_create_spec(json_object(request)))), 201)


async def remove_volume(api: Api, request: Request) -> AnyResponse:
    """``DELETE /volumes/{name}?force=`` → 204."""
    await api.call("remove_volume", request.params["id"], flag(request, "force"))
    return empty_response(204)


async def prune_volumes(api: Api, request: Request) -> AnyResponse:
    """``POST /volumes/prune``."""
    result = await api.call("prune_volumes", listing.prune_filter(filters(request)))
    return json_response({"VolumesDeleted": result.deleted or None, "SpaceReclaimed": result.space_reclaimed})


def register(api: Api) -> None:
    """Add the network and volume routes to ``api``."""
    api.add("GET", r"/networks", list_networks)
    api.add("POST", r"/networks/create", create_network)
    api.add("POST", r"/networks/prune", prune_networks)
    api.add("GET", rf"/networks/{ID}", inspect_network)
    api.add("DELETE", rf"/networks/{ID}", remove_network)
    api.add("POST", rf"/networks/{ID}/connect", connect)
    api.add("POST", rf"/networks/{ID}/disconnect", disconnect)
    api.add("GET", r"/volumes", list_volumes)
    api.add("POST", r"/volumes/create", create_volume)
    api.add("POST", r"/volumes/prune", prune_volumes)
    api.add("GET", rf"/volumes/{ID}", inspect_volume)
    api.add("DELETE", rf"/volumes/{ID}", remove_volume)
