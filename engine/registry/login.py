"""``docker login`` / ``docker logout``: check credentials against a registry, then keep or forget them.

A login pings ``/v2/``: 200 means the registry wants no credentials; a Basic
challenge is answered by ``GET /v2/`` with the credentials; a Bearer challenge
by the token exchange with them (no scope, as Docker asks). Only when the
registry accepts them are they stored, as Docker does, through
:class:`~engine.registry.credentials.CredentialStore` (a configured
``credsStore`` or ``credHelpers`` helper, else ``auths`` in ``config.json``);
a configured helper that is not installed is a clear error, not a silent
fallback to plain text.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from dataclasses import dataclass

from engine.errors import InvalidArgument, RegistryError, Unauthorized
from engine.jobs import Component, Job
from engine.registry.credentials import CredentialStore, Credentials, StaticCredentials, registry_key
from engine.registry.reference import DEFAULT_API_HOST, DEFAULT_DOMAIN, LEGACY_DEFAULT_DOMAIN
from engine.registry.responses import raise_for_status
from engine.registry.transport import Transport


@dataclass(frozen=True)
class LoginResult:
    """What a login found.

    Attributes:
        registry: the registry's ``config.json`` key (Docker Hub's is special).
        status: ``"Login Succeeded"``.
        auth_scheme: ``"basic"``, ``"bearer"`` or ``""`` (the registry wants none).
        stored_in: where the credentials went: the config file, or ``docker-credential-<helper>``;
            ``""`` when they were not stored.
    """

    registry: str
    status: str = "Login Succeeded"
    auth_scheme: str = ""
    stored_in: str = ""


def api_host(registry: str) -> str:
    """The API host for a registry as the user names it (``docker.io`` → ``registry-1.docker.io``)."""
    host = registry_key(registry)
    if host.startswith("https://index.docker.io") or host in (DEFAULT_DOMAIN, LEGACY_DEFAULT_DOMAIN):
        return DEFAULT_API_HOST
    return host


def verify_credentials(registry: str, credentials: Credentials, *,
                       insecure_registries: Iterable[str] = (), timeout: float = 30.0,
                       job: Job | None = None) -> str:
    """Check ``credentials`` against ``registry``; returns the auth scheme (``""``: none needed).

    Raises:
        Unauthorized: the registry (or its token server) refused them.
        RegistryUnavailable: it could not be reached.
        RegistryError: it answered something else.
    """
    host = api_host(registry)
    transport = Transport(StaticCredentials({registry: credentials}),
                          insecure_registries=insecure_registries, timeout=timeout, retries=1)
    try:
        ping = transport.ping(host)
        if ping.status_code == 200:
            scheme = ""
        elif ping.status_code == 401:
            challenge = transport.auth.challenge(host)
            scheme = challenge.scheme if challenge else ""
            try:
                response = transport.request("GET", host, "/v2/", registry=registry, scopes=(), job=job)
            except Unauthorized as exc:
                raise Unauthorized(f"login to {registry} failed for user {credentials.username!r}: "
                                   f"wrong user name or password ({exc})",
                                   title="Login failed") from None
            if response.status_code == 401:
                raise Unauthorized(f"login to {registry} failed for user {credentials.username!r}: "
                                   "wrong user name or password", title="Login failed")
            raise_for_status(response, f"the login check /v2/ of {registry}")
        else:
            raise RegistryError(f"{registry} answered HTTP {ping.status_code} to /v2/: "
                                "it does not look like a registry")
    finally:
        transport.close()
    if job is not None:
        job.step("credentials verified", Component.REGISTRY, host, user=credentials.username,
                 auth=scheme or "none")
    return scheme


def login(registry: str, username: str, password: str, *, store: CredentialStore | None = None,
          save: bool = True, insecure_registries: Iterable[str] = (), job: Job | None = None) -> LoginResult:
    """Verify the credentials, then store them as ``docker login`` does.

    Args:
        registry: ``127.0.0.1:5000``, ``ghcr.io``, ``docker.io`` (or Docker's
            ``https://index.docker.io/v1/``).
        username: the user name.
        password: the password or access token.
        store: where to keep them (default: the user's Docker config).
        save: keep them (``False``: only check, as the Engine API's ``/auth`` does).
        insecure_registries: hosts allowed plain http.
        job: where the steps go.

    Raises:
        Unauthorized: wrong user name or password, or the configured credential helper
            is missing ("Credential helper missing").
        InvalidArgument: no user name.
        RegistryUnavailable, RegistryError: the registry could not be asked.
    """
    if not username:
        raise InvalidArgument("login needs a user name")
    credentials = Credentials(username, password)
    store = store or CredentialStore()
    helper = store.helper_for(registry) if save else None
    if helper:
        if shutil.which(f"docker-credential-{helper}") is None:
            raise Unauthorized(f"cannot store credentials for {registry}: the credential helper "
                               f"docker-credential-{helper} named in {store.path} is not installed "
                               f"(install it, or remove \"{helper}\" from credsStore/credHelpers)",
                               title="Credential helper missing")
    scheme = verify_credentials(registry, credentials, insecure_registries=insecure_registries, job=job)
    stored_in = ""
    if save:
        store.save(registry, credentials)
        stored_in = f"docker-credential-{helper}" if helper else str(store.path)
        if job is not None:
            job.step("credentials stored", Component.REGISTRY, registry_key(registry), where=stored_in)
    return LoginResult(registry_key(registry), auth_scheme=scheme, stored_in=stored_in)


def logout(registry: str, *, store: CredentialStore | None = None, job: Job | None = None) -> bool:
    """Forget the credentials for ``registry``; whether there were any."""
    store = store or CredentialStore()
    removed = store.erase(registry)
    if job is not None:
        job.step("credentials erased" if removed else "not logged in", Component.REGISTRY,
                 registry_key(registry), config=str(store.path))
    return removed
