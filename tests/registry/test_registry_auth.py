"""Authentication against real registries: htpasswd (Basic) and token mode (Bearer, our ES256 issuer)."""

from __future__ import annotations

import base64
import json
import time

import pytest

from engine.errors import Unauthorized
from engine.jobs import EventBus, Job
from engine.registry import BytesSink, CredentialStore


def test_basic_auth_with_credentials(make_client, auth_registry, auth_image) -> None:
    """htpasswd: a 401 Basic challenge, then Basic credentials on every request."""
    client = make_client(credentials={auth_registry.host: auth_registry.auth})
    ping = client.ping(auth_registry.host)
    assert (ping.status, ping.auth_scheme) == (401, "basic")
    manifest = client.get_manifest(auth_image.reference)
    assert str(manifest.digest) == auth_image.digest
    client.fetch_blob(auth_image.reference, manifest.layers[0], BytesSink())


def test_basic_auth_wrong_password(make_client, auth_registry, auth_image) -> None:
    """A wrong password is Unauthorized, naming the user."""
    client = make_client(credentials={auth_registry.host: (auth_registry.username, "wrong")})
    with pytest.raises(Unauthorized, match=f"refused user '{auth_registry.username}': credentials rejected"):
        client.get_manifest(auth_image.reference)


def test_basic_auth_without_credentials(make_client, auth_registry, auth_image) -> None:
    """No credentials for a Basic registry: say so, and how to fix it."""
    with pytest.raises(Unauthorized, match="needs a user name and password.*log in"):
        make_client().get_manifest(auth_image.reference)


def test_credentials_from_docker_config(make_client, docker_config, auth_registry, auth_image) -> None:
    """The user's config.json (``$DOCKER_CONFIG``) supplies the credentials."""
    user, password = auth_registry.auth
    (docker_config / "config.json").write_text(json.dumps({"auths": {
        auth_registry.host: {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}}}))
    client = make_client(credentials=CredentialStore())
    assert str(client.get_manifest(auth_image.reference).digest) == auth_image.digest


def test_bearer_anonymous_pull_of_public_repo(make_client, token_registry) -> None:
    """Token mode: an anonymous token for repository:public/busybox:pull, no credentials sent."""
    token_registry.issuer.requests.clear()
    client = make_client()
    ping = client.ping(token_registry.host)
    assert (ping.status, ping.auth_scheme, ping.realm) == (401, "bearer", token_registry.issuer.realm)
    manifest = client.get_manifest(f"{token_registry.host}/public/busybox:latest")
    assert str(manifest.digest) == token_registry.digests["public/busybox"]
    [request] = token_registry.issuer.requests
    assert request.authorization is None
    assert request.scopes == ["repository:public/busybox:pull"]
    assert ("service", "wharf-test-registry") in request.params


def test_bearer_with_credentials_and_token_cache(make_client, token_registry) -> None:
    """Basic credentials go to the token server (with account=); the token is cached per scope."""
    token_registry.issuer.requests.clear()
    client = make_client(credentials={token_registry.host: (token_registry.username, token_registry.password)})
    ref = f"{token_registry.host}/private/busybox:latest"
    bus = EventBus()
    with Job(bus, "pull", ref) as job:
        manifest = client.get_manifest(ref, job=job)
        client.fetch_blob(ref, manifest.layers[0], BytesSink(), job=job)
        client.get_manifest(ref, job=job)
    assert str(manifest.digest) == token_registry.digests["private/busybox"]
    [request] = token_registry.issuer.requests  # one token for all three requests
    assert request.user == token_registry.username
    assert ("account", token_registry.username) in request.params
    steps = [e for e in bus.history() if e.action == "token fetched"]
    assert len(steps) == 1 and steps[0].detail["scopes"] == ["repository:private/busybox:pull"]
    everything = json.dumps([dict(e.detail) for e in bus.history()], default=str)
    token = client.transport.auth.tokens._tokens  # the secret must not be in any step
    assert all(t.value not in everything for t in token.values())


def test_bearer_wrong_password(make_client, token_registry) -> None:
    """The token server refuses the credentials: Unauthorized, saying to check them."""
    client = make_client(credentials={token_registry.host: (token_registry.username, "nope")})
    with pytest.raises(Unauthorized, match="refused user 'tokenuser'.*check the user name and password"):
        client.get_manifest(f"{token_registry.host}/private/busybox:latest")


def test_bearer_insufficient_scope_anonymous(make_client, token_registry) -> None:
    """Anonymous on a private repo: the token grants nothing; one refresh, then Unauthorized."""
    token_registry.issuer.requests.clear()
    with pytest.raises(Unauthorized, match="insufficient scope"):
        make_client().get_manifest(f"{token_registry.host}/private/busybox:latest")
    assert len(token_registry.issuer.requests) == 2  # first token, then one refresh


def test_bearer_token_refreshed_on_expiry(make_client, token_registry) -> None:
    """A token that expires early (the server says 1 s, we keep it 60 s): one 401, one refresh, success.

    The registry allows 60 s of leeway past ``exp``, so the issuer dates ``exp`` 58 s back.
    """
    issuer = token_registry.issuer
    issuer.requests.clear()
    issuer.lifetime, issuer.expires_in, issuer.token_field = -58, 1, "access_token"
    try:
        client = make_client()
        ref = f"{token_registry.host}/public/busybox:latest"
        client.get_manifest(ref)
        time.sleep(2.5)
        assert str(client.get_manifest(ref).digest) == token_registry.digests["public/busybox"]
    finally:
        issuer.lifetime, issuer.expires_in, issuer.token_field = 300, 300, "token"
    assert len(issuer.requests) == 2


def test_bearer_catalog_scope(make_client, token_registry) -> None:
    """The catalog needs registry:catalog:*, which the user gets."""
    client = make_client(credentials={token_registry.host: (token_registry.username, token_registry.password)})
    assert set(client.catalog(token_registry.host)) == {"public/busybox", "private/busybox"}
    assert any(r.scopes == ["registry:catalog:*"] for r in token_registry.issuer.requests)


def test_identity_token_uses_oauth2_refresh_grant(make_client, token_registry) -> None:
    """An identity token (docker login's refresh token) is exchanged by POST grant_type=refresh_token."""
    from engine.registry import Credentials  # noqa: PLC0415

    issuer = token_registry.issuer
    issuer.requests.clear()
    client = make_client(credentials={token_registry.host: Credentials("", identity_token=issuer.refresh_token)})
    manifest = client.get_manifest(f"{token_registry.host}/private/busybox:latest")
    assert str(manifest.digest) == token_registry.digests["private/busybox"]
    [request] = issuer.requests
    assert dict(request.params)["grant_type"] == "refresh_token"
    assert request.scopes == ["repository:private/busybox:pull"]
    bad = make_client(credentials={token_registry.host: Credentials("", identity_token="stale")})
    with pytest.raises(Unauthorized, match="token server"):
        bad.get_manifest(f"{token_registry.host}/private/busybox:latest")


def test_push_and_mount_with_tokens(make_client, token_registry) -> None:
    """Push asks for pull,push; a mount asks for the source's pull too, new scopes first."""
    from engine.registry import Digest  # noqa: PLC0415

    issuer = token_registry.issuer
    client = make_client(credentials={token_registry.host: (token_registry.username, token_registry.password)})
    data = b"a blob pushed with a bearer token\n"
    client.push_blob(f"{token_registry.host}/private/pushed", Digest.of(data), data)
    assert client.blob_exists(f"{token_registry.host}/private/pushed", Digest.of(data)) == len(data)
    issuer.requests.clear()
    assert client.mount_blob(f"{token_registry.host}/private/mounted", Digest.of(data),
                             f"{token_registry.host}/private/pushed")
    assert issuer.requests[0].scopes == ["repository:private/pushed:pull", "repository:private/mounted:pull,push"]
