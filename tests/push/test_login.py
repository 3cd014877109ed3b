"""Login, logout and a push with the stored credentials, against the htpasswd registry."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest
from harness.images import TestImages
from harness.registry import Registry
from pull.engine_parts import Engine
from push.test_push import _pull, _push

from engine.errors import Unauthorized
from engine.images.push import Pusher
from engine.jobs import Job
from engine.registry import CredentialStore, RegistryClient
from engine.registry.login import login, logout


def test_wrong_password_is_a_clear_error_and_nothing_is_stored(tmp_path: Path, auth_registry: Registry) -> None:
    store = CredentialStore(tmp_path / "docker" / "config.json")
    with pytest.raises(Unauthorized, match="wrong user name or password") as caught:
        login(auth_registry.host, "wharf", "not the password", store=store)
    assert "wharf" in str(caught.value)
    assert not store.path.exists()


def test_login_stores_like_docker_and_logout_erases(tmp_path: Path, auth_registry: Registry) -> None:
    store = CredentialStore(tmp_path / "docker" / "config.json")
    result = login(auth_registry.host, auth_registry.username, auth_registry.password, store=store)
    assert (result.status, result.auth_scheme, result.stored_in) == ("Login Succeeded", "basic", str(store.path))
    entry = json.loads(store.path.read_text())["auths"][auth_registry.host]
    assert base64.b64decode(entry["auth"]).decode() == f"{auth_registry.username}:{auth_registry.password}"
    assert store.path.stat().st_mode & 0o077 == 0
    assert logout(auth_registry.host, store=store) is True
    assert auth_registry.host not in json.loads(store.path.read_text()).get("auths", {})
    assert logout(auth_registry.host, store=store) is False


def test_a_missing_credential_helper_is_named(tmp_path: Path, auth_registry: Registry) -> None:
    store = CredentialStore(tmp_path / "config.json")
    store.path.write_text(json.dumps({"credsStore": "wharf-test-absent"}))
    with pytest.raises(Unauthorized, match="docker-credential-wharf-test-absent") as caught:
        login(auth_registry.host, auth_registry.username, auth_registry.password, store=store)
    assert caught.value.title == "Credential helper missing"


def test_push_after_login_recompresses_a_collected_blob(tmp_path: Path, make_state, auth_registry: Registry,
                                                        test_images: TestImages) -> None:
    """A pulled layer whose blob was deleted is written back from its files, gzip-compressed;
    the manifest and config name the new blob and diff_id; skopeo verifies every digest."""
    engine: Engine = make_state()
    image_id = _pull(engine, test_images.busybox_v2s2.reference)
    record = engine.images.get(image_id)
    assert engine.content.delete(record.layers[0].digest)
    store = CredentialStore(tmp_path / "docker" / "config.json")
    login(auth_registry.host, auth_registry.username, auth_registry.password, store=store)
    target = f"{auth_registry.host}/private/recompressed:v1"
    engine.images.tag(image_id, target)
    with RegistryClient(credentials=store, retries=1, backoff=0.05) as client, \
            Job(engine.bus, "push", target) as job:
        result = Pusher(client, engine.content, engine.images).push(target, job)
    assert result.rewritten and result.pushed == 1
    creds = f"--creds={auth_registry.username}:{auth_registry.password}"
    raw = json.loads(subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", creds,
                                     f"docker://{target}"], capture_output=True, check=True).stdout)
    assert raw["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert raw["layers"][0]["digest"] != record.layers[0].digest
    assert raw["layers"][0]["mediaType"] == "application/vnd.docker.image.rootfs.diff.tar.gzip"
    subprocess.run(["skopeo", "copy", "--quiet", "--src-tls-verify=false",
                    creds.replace("--creds", "--src-creds"), f"docker://{target}",
                    f"oci:{tmp_path / 'oci'}:x"], capture_output=True, check=True)
    fresh: Engine = make_state("fresh")
    fresh.registry.close()
    fresh.registry = RegistryClient(credentials=store, retries=1, backoff=0.05)
    fresh.puller.registry = fresh.registry
    pulled = _pull(fresh, target)
    assert (fresh.layers.get(fresh.images.get(pulled).chain_ids[0]).diff / "bin" / "busybox").exists()
    unauthenticated: Engine = make_state("anon")
    with pytest.raises(Unauthorized):
        _pull(unauthenticated, target)


def test_push_without_credentials_is_unauthorized(make_state, auth_registry: Registry,
                                                  test_images: TestImages) -> None:
    engine: Engine = make_state()
    image_id = _pull(engine, test_images.busybox_oci.reference)
    engine.images.tag(image_id, f"{auth_registry.host}/private/nocreds:v1")
    with pytest.raises(Unauthorized, match="needs a user name and password"):
        _push(engine, f"{auth_registry.host}/private/nocreds:v1")


@pytest.fixture(scope="module")
def token_registry(tmp_path_factory: pytest.TempPathFactory):
    """docker-registry in token mode, trusting the registry engineer's ES256 issuer."""
    from registry.registry_helpers.tokenserver import ISSUER, SERVICE, TokenServer  # noqa: PLC0415

    workdir = tmp_path_factory.mktemp("push-token-registry")
    issuer = TokenServer("tokenuser", "token pass", workdir / "issuer.pem")
    registry = Registry(workdir=workdir)
    (workdir / "data").mkdir()
    registry.config_path.write_text("\n".join([
        "version: 0.1", "log: {level: error, accesslog: {disabled: true}}",
        "storage:", f"  filesystem: {{rootdirectory: {workdir / 'data'}}}",
        "http:", f"  addr: 127.0.0.1:{registry.port}", "  secret: wharf-push-token-secret",
        "auth:", "  token:", f"    realm: {issuer.realm}", f"    service: {SERVICE}",
        f"    issuer: {ISSUER}", f"    rootcertbundle: {workdir / 'issuer.pem'}"]) + "\n")
    registry.start()
    try:
        yield registry, issuer
    finally:
        registry.remove()
        issuer.stop()


def test_login_with_the_token_exchange_then_push(tmp_path: Path, make_state, token_registry,
                                                 test_images: TestImages) -> None:
    """Bearer: the credentials go to the token server only; a wrong password is refused there."""
    registry, issuer = token_registry
    store = CredentialStore(tmp_path / "config.json")
    with pytest.raises(Unauthorized, match="wrong user name or password"):
        login(registry.host, "tokenuser", "nope", store=store)
    result = login(registry.host, "tokenuser", "token pass", store=store)
    assert result.auth_scheme == "bearer" and issuer.requests
    engine: Engine = make_state()
    image_id = _pull(engine, test_images.busybox_oci.reference)
    target = f"{registry.host}/team/busybox:v1"
    engine.images.tag(image_id, target)
    with RegistryClient(credentials=store, retries=1, backoff=0.05) as client, \
            Job(engine.bus, "push", target) as job:
        pushed = Pusher(client, engine.content, engine.images).push(target, job)
    assert pushed.digest == test_images.busybox_oci.digest and pushed.pushed == 1
