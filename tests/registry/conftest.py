"""Registry-client fixtures: a token-auth registry with its issuer, tampering proxies, clients.

The anonymous and htpasswd registries and the standard images come from the
shared harness (``registry``, ``auth_registry``, ``test_images``,
``auth_image``); this file adds what only the registry client's tests need.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from harness.images import busybox_layout, skopeo_push
from harness.registry import Registry
from registry.registry_helpers.proxy import TamperProxy
from registry.registry_helpers.tokenserver import ISSUER, SERVICE, TokenServer

from engine.registry import RegistryClient

TOKEN_USER = "tokenuser"
TOKEN_PASSWORD = "s3cret token pass"


class TokenRegistry:
    """A registry in token mode plus its issuer; ``public/busybox`` and ``private/busybox`` pushed."""

    def __init__(self, registry: Registry, issuer: TokenServer, digests: dict[str, str]) -> None:
        self.registry = registry
        self.issuer = issuer
        self.digests = digests
        self.username = TOKEN_USER
        self.password = TOKEN_PASSWORD

    @property
    def host(self) -> str:
        return self.registry.host


def _raw_manifest_digest(reference: str, creds: str | None) -> str:
    args = ["skopeo", "inspect", "--raw", "--tls-verify=false"]
    if creds:
        args += ["--creds", creds]
    raw = subprocess.run([*args, f"docker://{reference}"], capture_output=True, check=True).stdout
    return "sha256:" + hashlib.sha256(raw).hexdigest()


@pytest.fixture(scope="session")
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TokenRegistry]:
    """docker-registry with ``auth: token`` trusting our ES256 issuer; images pushed by skopeo."""
    workdir = tmp_path_factory.mktemp("token-registry")
    issuer = TokenServer(TOKEN_USER, TOKEN_PASSWORD, workdir / "issuer.pem")
    registry = Registry(workdir=workdir)
    data = workdir / "data"
    data.mkdir()
    registry.config_path.write_text("\n".join([
        "version: 0.1",
        "log: {level: error, accesslog: {disabled: true}}",
        "storage:",
        f"  filesystem: {{rootdirectory: {data}}}",
        "  delete: {enabled: true}",
        "http:",
        f"  addr: 127.0.0.1:{registry.port}",
        "  secret: wharf-token-registry-secret",
        "auth:",
        "  token:",
        f"    realm: {issuer.realm}",
        f"    service: {SERVICE}",
        f"    issuer: {ISSUER}",
        f"    rootcertbundle: {workdir / 'issuer.pem'}",
    ]) + "\n")
    registry.start()
    try:
        creds = (TOKEN_USER, TOKEN_PASSWORD)
        digests = {}
        for repository in ("public/busybox", "private/busybox"):
            skopeo_push(busybox_layout(), "latest", registry.host, repository, "latest", creds=creds)
            digests[repository] = _raw_manifest_digest(f"{registry.host}/{repository}:latest",
                                                       f"{TOKEN_USER}:{TOKEN_PASSWORD}")
        issuer.requests.clear()
        yield TokenRegistry(registry, issuer, digests)
    finally:
        registry.remove()
        issuer.stop()


@pytest.fixture
def make_proxy() -> Iterator[Callable[..., TamperProxy]]:
    """A factory of tampering proxies in front of an upstream URL; all stopped at the end."""
    made: list[TamperProxy] = []

    def make(upstream: str, upstream_auth: tuple[str, str] | None = None) -> TamperProxy:
        proxy = TamperProxy(upstream, upstream_auth)
        made.append(proxy)
        return proxy

    yield make
    for proxy in made:
        proxy.stop()


@pytest.fixture
def make_client() -> Iterator[Callable[..., RegistryClient]]:
    """A factory of RegistryClients with fast retries (delays recorded in ``client.delays``)."""
    made: list[RegistryClient] = []

    def make(**kwargs: object) -> RegistryClient:
        kwargs.setdefault("credentials", {})
        kwargs.setdefault("backoff", 0.01)
        kwargs.setdefault("retries", 3)
        client = RegistryClient(**kwargs)  # type: ignore[arg-type]
        client.delays = []  # type: ignore[attr-defined]
        client.transport.sleep = client.delays.append  # type: ignore[attr-defined]
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def docker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty ``$DOCKER_CONFIG`` folder for this test."""
    folder = tmp_path / "docker-config"
    folder.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(folder))
    return folder
