"""HTTP for the registry client: scheme choice, auth rounds, redirects, retries, errors.

One :class:`Transport` serves every registry the engine talks to; it is
thread-safe and reuses connections (one ``httpx.Client`` underneath).

- **Scheme**: https first; plain http only for loopback hosts and registries
  the user marks insecure (for those, https is tried without certificate
  checks first, then http, as Docker does for insecure registries, which
  always include 127.0.0.0/8). The scheme that answered is remembered.
- **Auth**: a 401 teaches the host's challenge; the request is repeated once
  with credentials or a (new) token for the union of the scopes; a second 401
  is :class:`~engine.errors.Unauthorized`.
- **Redirects** are followed by hand; ``Authorization`` is sent only to the
  registry's own origin, never to another host (CDNs, S3 signed URLs).
- **Retries**: connection errors, 408, 429 and 5xx are retried with
  exponential backoff, honouring ``Retry-After``, a bounded number of times.
- **Errors**: ``{"errors":[…]}`` bodies become :mod:`engine.errors` classes.
- **Warnings**: ``Warning: 299 - "…"`` headers are kept once each (:attr:`Transport.warnings`).
"""

from __future__ import annotations

import email.utils
import ipaddress
import re
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import httpx

from engine.errors import RegistryError, RegistryUnavailable, Unauthorized
from engine.jobs import Component, Job
from engine.registry.auth import Authenticator
from engine.registry.challenge import merge_scopes
from engine.registry.credentials import CredentialSource
from engine.registry.responses import error_summary, hostport, raise_for_status
from engine.version import __version__ as _version

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
_WARNING = re.compile(r'299\s+\S+\s+"((?:[^"\\]|\\.)*)"')


def is_loopback(host: str) -> bool:
    """Whether ``host`` (``name[:port]`` or ``[v6]:port``) is localhost, 127.0.0.0/8 or ::1."""
    name = host
    if name.startswith("["):
        name = name[1:name.find("]")]
    elif name.count(":") == 1:
        name = name.split(":", 1)[0]
    if name.lower() == "localhost" or name.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date), or ``None``."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class Transport:
    """Sends registry requests; see the module docstring for what it takes care of.

    Args:
        credentials: where credentials come from (``None``: anonymous only).
        insecure_registries: hosts (``host:port``) that may use plain http or bad certificates.
        timeout: seconds for connect and for each read.
        retries: how many times a failed request is repeated.
        backoff: the first retry delay in seconds; it doubles each time.
        max_backoff: the longest delay between two attempts (also caps ``Retry-After``).
    """

    def __init__(self, credentials: CredentialSource | None = None, *,
                 insecure_registries: Iterable[str] = (), timeout: float = 30.0,
                 retries: int = 4, backoff: float = 0.5, max_backoff: float = 30.0) -> None:
        self.insecure = {h.lower() for h in insecure_registries}
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._timeout = httpx.Timeout(timeout, connect=min(timeout, 15.0))
        self._limits = httpx.Limits(max_connections=64, max_keepalive_connections=16)
        self._headers = {"User-Agent": f"wharf/{_version}"}
        self._http = httpx.Client(timeout=self._timeout, limits=self._limits,
                                  headers=self._headers, follow_redirects=False)
        self._http_noverify: httpx.Client | None = None
        self._lock = threading.Lock()
        self._schemes: dict[str, str] = {}
        self.auth = Authenticator(credentials, self._token_fetch, self._realm_allowed)
        """Learns challenges and holds the token cache."""
        self.warnings: set[tuple[str, str]] = set()
        """``(host, text)`` of every registry ``Warning`` seen, each once."""
        self.sleep = time.sleep
        """How to wait between retries (tests may replace it to record delays)."""

    def close(self) -> None:
        """Close all connections."""
        self._http.close()
        if self._http_noverify is not None:
            self._http_noverify.close()

    # -- schemes -------------------------------------------------------------------------

    def is_insecure(self, host: str) -> bool:
        """Whether plain http is allowed for ``host``."""
        return host.lower() in self.insecure or is_loopback(host)

    def _schemes_for(self, host: str) -> list[str]:
        with self._lock:
            known = self._schemes.get(host)
        if known:
            return [known]
        return ["https", "http"] if self.is_insecure(host) else ["https"]

    def _remember_scheme(self, host: str, scheme: str) -> None:
        with self._lock:
            self._schemes[host] = scheme

    def base_url(self, host: str) -> str:
        """``scheme://host`` as currently known (https until http has answered)."""
        return f"{self._schemes_for(host)[0]}://{host}"

    def _client_for(self, url: httpx.URL, registry_host: str) -> httpx.Client:
        if url.scheme == "https" and self.is_insecure(registry_host) \
                and hostport(url).lower() == registry_host.lower():
            with self._lock:
                if self._http_noverify is None:
                    self._http_noverify = httpx.Client(
                        timeout=self._timeout, limits=self._limits, headers=self._headers,
                        follow_redirects=False, verify=False)
                return self._http_noverify
        return self._http

    def _realm_allowed(self, host: str, realm: httpx.URL) -> bool:
        return is_loopback(hostport(realm)) or self.is_insecure(host) or \
            hostport(realm).lower() in self.insecure

    # -- sending -------------------------------------------------------------------------

    def _send_with_retries(self, client: httpx.Client, request_args: dict[str, Any],
                           what: str, host: str) -> httpx.Response:
        """Send one request (streaming), retrying connection errors, 408, 429 and 5xx."""
        delay = self.backoff
        last_error = ""
        for attempt in range(self.retries + 1):
            final = attempt == self.retries
            try:
                request = client.build_request(**request_args)
                response = client.send(request, stream=True)
            except httpx.TransportError as exc:
                last_error = describe_transport_error(exc)
                if final:
                    raise RegistryUnavailable(
                        f"registry {host} is unavailable: {last_error} ({what}, after "
                        f"{attempt + 1} attempts)") from None
                self.sleep(min(delay, self.max_backoff))
                delay *= 2
                continue
            if response.status_code in RETRY_STATUSES and not final:
                wait = retry_after_seconds(response.headers.get("retry-after"))
                response.close()
                self.sleep(min(wait if wait is not None else delay, self.max_backoff))
                delay *= 2
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _token_fetch(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        target = httpx.URL(url)
        response = self._send_with_retries(self._http, {"method": method, "url": url, **kwargs},
                                           "token request", hostport(target))
        response.read()
        return response

    def request(self, method: str, host: str, path: str, *, registry: str | None = None,
                scopes: Sequence[str] = (), params: Mapping[str, Any] | list | None = None,
                headers: Mapping[str, str] | None = None, content: bytes | None = None,
                job: Job | None = None, stream: bool = False) -> httpx.Response:
        """Send a request to a registry's API, with auth, redirects and retries.

        Args:
            method: ``GET``, ``HEAD``, ``PUT``, …
            host: the API host (``127.0.0.1:5000``, ``registry-1.docker.io``).
            path: ``/v2/…``, or an absolute URL (an upload Location, a Link).
            registry: the domain as the user names it, for credentials (default ``host``).
            scopes: token scopes the request needs.
            params: query parameters.
            headers: extra headers.
            content: a request body (bytes, so it can be re-sent).
            job: where token steps go.
            stream: return without reading the body (the caller must close it).

        Returns:
            The final response, whatever its status (see :func:`raise_for_status`).

        Raises:
            RegistryUnavailable: the registry could not be reached after retries.
            Unauthorized: a 401 that a fresh token or credentials did not cure.
        """
        registry = registry or host
        scopes = tuple(scopes)
        auth = self.auth.header(host, registry, scopes, job=job)
        refreshed = False
        for _round in range(3):
            response = self._send_following(method, host, path, params, headers, content, auth)
            if response.status_code != 401 or hostport(response.url).lower() != host.lower():
                break
            response.read()
            response.close()
            challenge = self.auth.learn(host, response)
            if challenge is None:
                raise Unauthorized(f"registry {host} answered 401 without a usable WWW-Authenticate challenge")
            if auth is not None and (refreshed or challenge.scheme == "basic"):
                raise Unauthorized(self._unauthorized_message(host, registry, challenge.error,
                                                              error_summary(response)))
            if challenge.scheme == "basic" and self.auth.credentials_for(registry) is None:
                raise Unauthorized(
                    f"registry {host} needs a user name and password, and there are none for "
                    f"{registry} (log in first)")
            scopes = merge_scopes(challenge.scopes, scopes)
            refreshed = auth is not None
            auth = self.auth.header(host, registry, scopes, job=job, refused=auth)
            if auth is None:
                raise Unauthorized(f"registry {host} wants {challenge.scheme} authentication, "
                                   "which Wharf cannot answer")
        else:
            raise Unauthorized(f"registry {host} kept answering 401")
        self._note_warnings(host, response, job)
        if not stream:
            try:
                response.read()
            except httpx.TransportError as exc:
                response.close()
                raise RegistryUnavailable(
                    f"registry {host} dropped the connection: {describe_transport_error(exc)}") from None
        return response

    def _note_warnings(self, host: str, response: httpx.Response, job: Job | None) -> None:
        """Keep ``Warning: 299 - "…"`` texts once each, and show new ones as a Job step."""
        for value in response.headers.get_list("warning"):
            match = _WARNING.match(value.strip())
            if not match:
                continue
            text = match.group(1).replace('\\"', '"')
            with self._lock:
                new = (host, text) not in self.warnings
                self.warnings.add((host, text))
            if new and job is not None:
                job.step("registry warning", Component.REGISTRY, host, warning=text)

    def external_get(self, url: str, headers: Mapping[str, str]) -> httpx.Response | None:
        """GET a foreign layer's own URL, never with credentials; ``None`` if it fails.

        Plain http is used only for loopback or insecure hosts. The response streams
        and is 200 or 206; the caller closes it.
        """
        try:
            target = httpx.URL(url)
        except httpx.InvalidURL:
            return None
        host = hostport(target) if target.host else ""
        if target.scheme not in ("http", "https") or not host or \
                (target.scheme == "http" and not self.is_insecure(host)):
            return None
        try:
            response = self._send_following("GET", host, str(target), None, headers, None, None)
        except RegistryError:
            return None
        if response.status_code not in (200, 206):
            response.close()
            return None
        return response

    def ping(self, host: str) -> httpx.Response:
        """``GET /v2/`` without credentials; a 401 teaches the host's challenge.

        Raises:
            RegistryUnavailable: the registry could not be reached.
        """
        response = self._send_following("GET", host, "/v2/", None, None, None, None)
        response.read()
        response.close()
        if response.status_code == 401:
            self.auth.learn(host, response)
        return response

    def _unauthorized_message(self, host: str, registry: str, error: str, summary: str) -> str:
        who = self.auth.credentials_for(registry)
        identity = f"user {who.username!r}" if who and who.username else "anonymous access"
        if error == "insufficient_scope":
            reason = "insufficient scope: the repository may not exist, or may require authorization"
        elif error == "invalid_token":
            reason = "the token was refused even after fetching a new one"
        else:
            reason = "credentials rejected"
        return f"registry {host} refused {identity}: {reason}" + (f" ({summary})" if summary else "")

    def _send_following(self, method: str, host: str, path: str, params: Any,
                        headers: Mapping[str, str] | None, content: bytes | None,
                        auth: str | None) -> httpx.Response:
        """Send, trying the host's schemes in turn, then follow redirects by hand."""
        schemes = self._schemes_for(host)
        response: httpx.Response | None = None
        if path.startswith(("http://", "https://")):
            schemes = [httpx.URL(path).scheme]
        for index, scheme in enumerate(schemes):
            if path.startswith(("http://", "https://")):
                url = httpx.URL(path)
                if hostport(url).lower() != host.lower():
                    auth = None  # an absolute URL (Location, Link) on another host: no credentials
            else:
                url = httpx.URL(f"{scheme}://{host}{path}")
            try:
                response = self._send_hop(method, url, host, params, headers, content, auth,
                                          quick=index < len(schemes) - 1)
            except RegistryUnavailable:
                if index < len(schemes) - 1:
                    continue
                raise
            if hostport(url).lower() == host.lower():
                self._remember_scheme(host, url.scheme)
            break
        assert response is not None
        origin = (response.url.scheme, hostport(response.url).lower())
        for _ in range(MAX_REDIRECTS):
            if response.status_code not in REDIRECT_STATUSES or "location" not in response.headers:
                return response
            target = response.url.join(response.headers["location"])
            response.close()
            same_origin = (target.scheme, hostport(target).lower()) == origin
            next_method = "GET" if response.status_code == 303 and method != "HEAD" else method
            response = self._send_hop(next_method, target, hostport(target), None, headers,
                                      content if next_method == method else None,
                                      auth if same_origin else None, quick=False)
        if response.status_code in REDIRECT_STATUSES:
            response.close()
            raise RegistryError(f"registry {host} redirected more than {MAX_REDIRECTS} times")
        return response

    def _send_hop(self, method: str, url: httpx.URL, host: str, params: Any,
                  headers: Mapping[str, str] | None, content: bytes | None, auth: str | None,
                  quick: bool) -> httpx.Response:
        all_headers = dict(headers or {})
        if auth:
            all_headers["Authorization"] = auth
        args: dict[str, Any] = {"method": method, "url": url, "headers": all_headers}
        if params:
            args["params"] = params
        if content is not None:
            args["content"] = content
        client = self._client_for(url, host)
        if quick:  # a scheme probe: no retries, the next scheme is the fallback
            try:
                return client.send(client.build_request(**args), stream=True)
            except httpx.TransportError as exc:
                raise RegistryUnavailable(f"registry {host}: {describe_transport_error(exc)}") from None
        return self._send_with_retries(client, args, f"{method} {url.path}", host)


def describe_transport_error(exc: httpx.TransportError) -> str:
    """A short reason for a transport error: ``connection refused``, ``timed out``, …"""
    text = str(exc) or type(exc).__name__
    lowered = text.lower()
    if "refused" in lowered:
        return "connection refused"
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    if "ssl" in lowered or "certificate" in lowered:
        return f"TLS failed: {text}"
    return text


__all__ = ["Transport", "describe_transport_error", "is_loopback", "raise_for_status", "retry_after_seconds"]
