"""Registry authentication: Basic, and Bearer tokens fetched from the challenge's realm.

:class:`Authenticator` learns each registry's challenge from its first 401,
then answers every request with an ``Authorization`` header: Basic with the
user's credentials, or a Bearer token for the request's scopes. Tokens come
from ``GET <realm>?service=…&scope=…`` (with Basic credentials when there
are any; with an identity token, an OAuth2 ``refresh_token`` POST), and are
cached per (host, realm, service, scopes, identity) until shortly before
they expire (``expires_in``, at least 60 s, counted from ``issued_at``).
The token itself never appears in a message, a log or a Job step.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from engine.errors import RegistryError, RegistryUnavailable, Unauthorized
from engine.jobs import Component, Job
from engine.registry.challenge import Challenge, parse_www_authenticate
from engine.registry.credentials import CredentialSource, Credentials

MIN_TOKEN_LIFETIME = 60
"""Seconds a token lives at least, whatever ``expires_in`` says (the token spec's default)."""

_ISO_FRACTION = re.compile(r"(\.\d{6})\d+")

TokenKey = tuple[str, str, str, tuple[str, ...], str]


@dataclass(frozen=True)
class Token:
    """A Bearer token and when to stop using it.

    Attributes:
        value: the token (secret).
        expires_at: ``time.monotonic()`` after which it is not reused.
        lifetime: the lifetime the server granted, in seconds.
    """

    value: str
    expires_at: float
    lifetime: int

    def __repr__(self) -> str:
        return f"Token(lifetime={self.lifetime}, value=***)"

    @property
    def fresh(self) -> bool:
        """Whether it can still be used."""
        return time.monotonic() < self.expires_at


def parse_token_response(data: object, now: float | None = None) -> Token:
    """Build a :class:`Token` from a token server's JSON answer.

    Accepts ``token`` or ``access_token``; ``expires_in`` missing or under 60
    counts as 60; ``issued_at`` (RFC 3339) moves the expiry back by the time
    that has passed since.

    Raises:
        RegistryError: no token in the answer.
    """
    if not isinstance(data, dict):
        raise RegistryError("token server answered with something other than a JSON object")
    value = data.get("token") or data.get("access_token")
    if not isinstance(value, str) or not value:
        raise RegistryError("token server answered without a token")
    try:
        lifetime = int(data.get("expires_in") or 0)
    except (TypeError, ValueError):
        lifetime = 0
    lifetime = max(lifetime, MIN_TOKEN_LIFETIME)
    elapsed = 0.0
    issued = data.get("issued_at")
    if isinstance(issued, str) and issued:
        try:
            when = dt.datetime.fromisoformat(_ISO_FRACTION.sub(r"\1", issued.replace("Z", "+00:00")))
            if when.tzinfo is None:
                when = when.replace(tzinfo=dt.timezone.utc)
            elapsed = (dt.datetime.now(dt.timezone.utc) - when).total_seconds()
        except ValueError:
            elapsed = 0.0
        elapsed = min(max(elapsed, 0.0), lifetime / 2)  # clock skew: never trust more than half
    margin = min(10.0, lifetime * 0.1)
    start = time.monotonic() if now is None else now
    return Token(value, start + lifetime - elapsed - margin, lifetime)


class TokenCache:
    """Thread-safe cache of Bearer tokens keyed by (host, realm, service, scopes, identity)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[TokenKey, Token] = {}

    def get(self, key: TokenKey) -> Token | None:
        """A fresh token for ``key``, or ``None``."""
        with self._lock:
            token = self._tokens.get(key)
            if token is not None and not token.fresh:
                del self._tokens[key]
                return None
            return token

    def put(self, key: TokenKey, token: Token) -> None:
        """Remember ``token`` for ``key``."""
        with self._lock:
            self._tokens[key] = token

    def discard(self, key: TokenKey) -> None:
        """Forget the token for ``key`` (it was refused)."""
        with self._lock:
            self._tokens.pop(key, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._tokens)


def basic_header(credentials: Credentials) -> str:
    """``Basic base64(user:password)``."""
    raw = f"{credentials.username}:{credentials.password}".encode()
    return "Basic " + base64.b64encode(raw).decode()


Fetch = Callable[..., httpx.Response]
"""Sends one token request: ``fetch(method, url, params=…, headers=…, data=…)``."""


class Authenticator:
    """Decides the ``Authorization`` header of each registry request.

    Args:
        credentials: where to look up credentials per registry.
        fetch: sends a token request (the transport's plain HTTP, with retries).
        realm_allowed: whether a (non-https) realm URL may be used for a registry host.
    """

    def __init__(self, credentials: CredentialSource | None, fetch: Fetch,
                 realm_allowed: Callable[[str, httpx.URL], bool]) -> None:
        self._credentials = credentials
        self._fetch = fetch
        self._realm_allowed = realm_allowed
        self._lock = threading.Lock()
        self._challenges: dict[str, Challenge] = {}
        self._fetch_locks: dict[TokenKey, threading.Lock] = {}
        self.tokens = TokenCache()
        """The Bearer tokens fetched so far."""
        self.token_requests = 0
        """How many token requests were sent (for tests and the teaching view)."""

    def credentials_for(self, registry: str) -> Credentials | None:
        """The credentials for ``registry`` (the domain as the user names it)."""
        return self._credentials.get(registry) if self._credentials is not None else None

    def challenge(self, host: str) -> Challenge | None:
        """The challenge learned for ``host``, if any."""
        with self._lock:
            return self._challenges.get(host)

    def learn(self, host: str, response: httpx.Response) -> Challenge | None:
        """Remember the challenge of a 401 (Bearer preferred over Basic) and return it."""
        challenges = parse_www_authenticate(response.headers.get_list("www-authenticate"))
        chosen = next((c for c in challenges if c.scheme == "bearer"), None) or next(
            (c for c in challenges if c.scheme == "basic"), None)
        if chosen is not None:
            with self._lock:
                self._challenges[host] = chosen
        return chosen

    def header(self, host: str, registry: str, scopes: Sequence[str], *,
               job: Job | None = None, refused: str | None = None) -> str | None:
        """The ``Authorization`` value for a request to ``host``, or ``None`` (anonymous).

        Args:
            host: the API host (``registry-1.docker.io``, ``127.0.0.1:5000``).
            registry: the domain as the user names it (for the credential lookup).
            scopes: the scopes the request needs (Bearer only).
            job: where to publish a ``token fetched`` step.
            refused: the ``Authorization`` value the registry just refused: if the
                cache still holds that token, it is dropped and a new one fetched
                (another thread may already have replaced it).

        Raises:
            Unauthorized: the token server refused the credentials.
        """
        challenge = self.challenge(host)
        if challenge is None:
            return None
        credentials = self.credentials_for(registry)
        if challenge.scheme == "basic":
            return basic_header(credentials) if credentials and credentials.username else None
        if challenge.scheme != "bearer":
            return None
        scope_key = tuple(sorted(set(scopes)))
        key: TokenKey = (host, challenge.realm, challenge.service, scope_key,
                         credentials.identity if credentials else "")
        with self._lock:
            fetch_lock = self._fetch_locks.setdefault(key, threading.Lock())
        with fetch_lock:  # one fetch per key, however many threads need the token at once
            token = self.tokens.get(key)
            if token is not None and refused is not None and "Bearer " + token.value == refused:
                self.tokens.discard(key)
                token = None
            if token is None:
                token = self._fetch_token(host, challenge, list(scopes), credentials, job)
                self.tokens.put(key, token)
        return "Bearer " + token.value

    def _fetch_token(self, host: str, challenge: Challenge, scopes: list[str],
                     credentials: Credentials | None, job: Job | None) -> Token:
        if not challenge.realm:
            raise Unauthorized(f"registry {host} asks for a Bearer token but names no realm")
        realm = httpx.URL(challenge.realm)
        if realm.scheme not in ("http", "https") or not realm.host:
            raise Unauthorized(f"registry {host} names an unusable token realm {challenge.realm!r}")
        if realm.scheme != "https" and not self._realm_allowed(host, realm):
            raise Unauthorized(
                f"registry {host} wants tokens from {challenge.realm}, which is plain http on a "
                "host that is neither loopback nor marked insecure; refusing to send credentials there")
        params: list[tuple[str, str]] = []
        if challenge.service:
            params.append(("service", challenge.service))
        params += [("scope", s) for s in scopes]
        headers: dict[str, str] = {}
        self.token_requests += 1
        try:
            if credentials is not None and credentials.identity_token:
                form = {"grant_type": "refresh_token", "refresh_token": credentials.identity_token,
                        "client_id": "wharf", "service": challenge.service, "scope": " ".join(scopes)}
                response = self._fetch("POST", str(realm), data=form, headers=headers)
            else:
                if credentials is not None and credentials.username:
                    headers["Authorization"] = basic_header(credentials)
                    params.append(("account", credentials.username))
                response = self._fetch("GET", str(realm), params=params, headers=headers)
        except RegistryUnavailable as exc:
            raise RegistryUnavailable(f"token server {realm.host} for {host}: {exc}") from None
        if response.status_code in (401, 403):
            who = f"user {credentials.username!r}" if credentials else "anonymous access"
            raise Unauthorized(f"token server {realm.host}:{realm.port or ''} for registry {host} refused "
                               f"{who} (HTTP {response.status_code}); check the user name and password")
        if response.status_code != 200:
            raise RegistryError(f"token server {realm} for {host} answered HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            raise RegistryError(f"token server {realm} for {host} answered with invalid JSON") from None
        token = parse_token_response(data)
        if job is not None:
            job.step("token fetched", Component.REGISTRY, host, realm=str(realm),
                     service=challenge.service, scopes=list(scopes), expires_in=token.lifetime,
                     user=credentials.username if credentials else "")
        return token
