"""Translating registry answers into :mod:`engine.errors`, once, at the boundary.

Registries answer errors as ``{"errors":[{"code","message","detail"}]}``
(codes such as ``MANIFEST_UNKNOWN``, ``NAME_UNKNOWN``, ``UNAUTHORIZED``,
``DENIED``, ``TOOMANYREQUESTS``); 4xx bodies may also be HTML or empty.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import httpx

from engine.errors import ManifestUnknown, RegistryError, RegistryUnavailable, Unauthorized, UnsupportedMediaType

_ERROR_BODY_LIMIT = 64 * 1024


def hostport(url: httpx.URL) -> str:
    """``host[:port]`` of a URL, IPv6 hosts in brackets."""
    host = f"[{url.host}]" if ":" in url.host else url.host
    return f"{host}:{url.port}" if url.port else host


def error_entries(response: httpx.Response) -> list[dict[str, Any]]:
    """The ``errors`` array of a registry error body (empty if there is none or it is not JSON)."""
    try:
        body = response.content[:_ERROR_BODY_LIMIT]
        data = json.loads(body) if body else None
    except (ValueError, httpx.ResponseNotRead):
        return []
    errors = data.get("errors") if isinstance(data, dict) else None
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []


def error_summary(response: httpx.Response) -> str:
    """``CODE: message; CODE: message`` from an error body, or ``""``."""
    parts = []
    for entry in error_entries(response):
        code, message = entry.get("code", ""), entry.get("message", "")
        parts.append(f"{code}: {message}" if message else str(code))
    return "; ".join(parts)


def raise_for_status(response: httpx.Response, what: str, ok: Iterable[int] = (200,)) -> None:
    """Translate a failed response into :mod:`engine.errors`.

    Args:
        response: a response whose body has been read (or is streaming; it is read here).
        what: what was asked for, e.g. ``manifest 127.0.0.1:5000/a:b``.
        ok: the statuses that are success.

    Raises:
        ManifestUnknown: 404, or NAME_UNKNOWN / MANIFEST_UNKNOWN / BLOB_UNKNOWN.
        Unauthorized: 401/403, UNAUTHORIZED / DENIED.
        UnsupportedMediaType: UNSUPPORTED, 415.
        RegistryUnavailable: 429 or 5xx (after the transport's retries).
        RegistryError: anything else.
    """
    if response.status_code in set(ok):
        return
    try:
        response.read()
    except httpx.TransportError:
        pass
    finally:
        response.close()
    codes = {str(e.get("code", "")).upper() for e in error_entries(response)}
    summary = error_summary(response)
    host = hostport(response.url)
    detail = f": {summary}" if summary else ""
    status = response.status_code
    if codes & {"NAME_UNKNOWN", "MANIFEST_UNKNOWN", "BLOB_UNKNOWN"} or status == 404:
        raise ManifestUnknown(f"{what} not found in registry {host}{detail or ' (HTTP 404)'}")
    if codes & {"UNAUTHORIZED", "DENIED"} or status in (401, 403):
        raise Unauthorized(f"registry {host} denied access to {what} (HTTP {status}){detail}")
    if "UNSUPPORTED" in codes or status == 415:
        raise UnsupportedMediaType(f"registry {host} does not support this for {what}{detail}")
    if status == 429 or "TOOMANYREQUESTS" in codes:
        raise RegistryUnavailable(f"registry {host} rate-limits requests for {what} (HTTP 429){detail}")
    if status >= 500:
        raise RegistryUnavailable(f"registry {host} failed on {what} (HTTP {status}){detail}")
    if status == 405:
        raise RegistryError(f"registry {host} does not allow this on {what} (HTTP 405){detail}")
    raise RegistryError(f"registry {host} refused {what} (HTTP {status}){detail}")
