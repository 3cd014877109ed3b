"""WWW-Authenticate parsing, scopes, token answers, and Docker's config.json credentials."""

from __future__ import annotations

import base64
import json
import os
import stat
import time
from pathlib import Path

import pytest

from engine.errors import RegistryError, Unauthorized
from engine.registry.auth import MIN_TOKEN_LIFETIME, TokenCache, parse_token_response
from engine.registry.challenge import Scope, merge_scopes, parse_www_authenticate
from engine.registry.credentials import (Credentials, CredentialStore, StaticCredentials,
                                         default_config_path, registry_key)


def test_bearer_challenge_as_registry_2_8_sends_it() -> None:
    """The real registry's challenge: realm, service, scope."""
    [c] = parse_www_authenticate(
        'Bearer realm="http://127.0.0.1:5057/token",service="test-registry",scope="repository:foo/bar:pull"')
    assert c.scheme == "bearer"
    assert (c.realm, c.service, c.scopes, c.error) == (
        "http://127.0.0.1:5057/token", "test-registry", ("repository:foo/bar:pull",), "")


def test_scheme_is_case_insensitive_and_keys_lowercased() -> None:
    """``BEARER Realm=…`` is the same as ``Bearer realm=…``."""
    [c] = parse_www_authenticate('BEARER Realm="r", SERVICE=svc')
    assert (c.scheme, c.realm, c.service) == ("bearer", "r", "svc")


def test_quoted_values_with_escapes_and_commas() -> None:
    """Backslash escapes and commas inside quotes do not end the value."""
    [c] = parse_www_authenticate(r'Bearer realm="https://a/t?x=1,y=2",service="s \"q\" \\ z",error="invalid_token"')
    assert c.realm == "https://a/t?x=1,y=2"
    assert c.service == 's "q" \\ z'
    assert c.error == "invalid_token"


def test_space_separated_multi_scope() -> None:
    """A mount without source access asks for two scopes in one parameter."""
    [c] = parse_www_authenticate('Bearer realm="r",service="s",scope="repository:dst/b:pull,push '
                                 'repository:src/a:pull",error="insufficient_scope"')
    assert c.scopes == ("repository:dst/b:pull,push", "repository:src/a:pull")
    assert c.error == "insufficient_scope"


def test_several_challenges_in_one_and_several_headers() -> None:
    """``Bearer …, Basic …`` in one header, and a Negotiate token68 in another."""
    challenges = parse_www_authenticate(['Bearer realm="r",service="s", Basic realm="b"',
                                         "Negotiate abc123==", 'basic realm="test-realm"'])
    assert [c.scheme for c in challenges] == ["bearer", "basic", "negotiate", "basic"]
    assert challenges[1].realm == "b" and challenges[3].realm == "test-realm"
    assert challenges[0].service == "s"


def test_scopes_split_actions_from_the_right_and_merge() -> None:
    """Names may hold host:port; merging unions actions and keeps new scopes first."""
    scope = Scope.parse("repository:localhost:5000/foo:push,pull")
    assert (scope.type, scope.name, scope.actions) == ("repository", "localhost:5000/foo", ("pull", "push"))
    assert str(Scope.repository("a/b")) == "repository:a/b:pull"
    assert str(Scope.catalog()) == "registry:catalog:*"
    merged = merge_scopes(["repository:src/a:pull", "repository:dst/b:push"], ["repository:dst/b:pull"])
    assert merged == ("repository:src/a:pull", "repository:dst/b:pull,push")


def test_token_answer_fields() -> None:
    """``token`` or ``access_token``; expires_in under 60 means 60; missing token is an error."""
    now = time.monotonic()
    assert parse_token_response({"token": "t1", "expires_in": 300}, now).value == "t1"
    assert parse_token_response({"access_token": "t2"}, now).value == "t2"
    short = parse_token_response({"token": "t", "expires_in": 5}, now)
    assert short.lifetime == MIN_TOKEN_LIFETIME
    assert now + 45 < short.expires_at <= now + 60
    assert "t" not in repr(short).replace("Token", "").replace("lifetime", "")  # never shows the token
    with pytest.raises(RegistryError, match="without a token"):
        parse_token_response({"expires_in": 60})


def test_token_issued_at_moves_expiry_back() -> None:
    """A token issued 100 s ago with 300 s lives about 200 s more (Go's nanosecond times parse)."""
    issued = time.strftime("%Y-%m-%dT%H:%M:%S.123456789Z", time.gmtime(time.time() - 100))
    now = time.monotonic()
    token = parse_token_response({"token": "x", "expires_in": 300, "issued_at": issued}, now)
    assert now + 170 < token.expires_at < now + 205


def test_token_cache_expires() -> None:
    """A cached token is returned while fresh and dropped after."""
    cache = TokenCache()
    key = ("h", "r", "s", ("repository:a:pull",), "")
    cache.put(key, parse_token_response({"token": "x"}, time.monotonic() - 100))
    assert cache.get(key) is None
    cache.put(key, parse_token_response({"token": "y"}))
    assert cache.get(key).value == "y"
    cache.discard(key)
    assert cache.get(key) is None


def _write_config(folder: Path, data: dict) -> Path:
    path = folder / "config.json"
    path.write_text(json.dumps(data))
    return path


def test_config_json_auths(docker_config: Path) -> None:
    """``auths`` entries with base64 ``auth``; Docker Hub under its v1 URL key; URL keys match hosts."""
    _write_config(docker_config, {"auths": {
        "https://index.docker.io/v1/": {"auth": base64.b64encode(b"hubuser:hubpass").decode()},
        "http://127.0.0.1:5000": {"auth": base64.b64encode(b"u:p:with:colons").decode()},
        "quay.io": {"identitytoken": "refresh-me"},
    }})
    store = CredentialStore()
    assert store.path == docker_config / "config.json" == default_config_path()
    assert store.get("docker.io") == Credentials("hubuser", "hubpass")
    assert store.get("index.docker.io") == Credentials("hubuser", "hubpass")
    assert store.get("127.0.0.1:5000") == Credentials("u", "p:with:colons")
    assert store.get("quay.io").identity_token == "refresh-me"
    assert store.get("ghcr.io") is None
    assert "hubpass" not in repr(store.get("docker.io"))


def test_default_config_path_without_docker_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Without $DOCKER_CONFIG it is ~/.docker/config.json."""
    monkeypatch.delenv("DOCKER_CONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_config_path() == tmp_path / ".docker" / "config.json"


def test_save_and_erase_write_config_as_docker_does(docker_config: Path) -> None:
    """login writes base64 auth (mode 0600) and keeps other keys; logout removes the entry."""
    _write_config(docker_config, {"auths": {}, "psFormat": "table {{.ID}}"})
    store = CredentialStore()
    store.save("docker.io", Credentials("me", "pw"))
    store.save("127.0.0.1:5000", Credentials("a", "b"))
    data = json.loads((docker_config / "config.json").read_text())
    assert data["psFormat"] == "table {{.ID}}"
    assert base64.b64decode(data["auths"]["https://index.docker.io/v1/"]["auth"]) == b"me:pw"
    assert stat.S_IMODE(os.stat(docker_config / "config.json").st_mode) == 0o600
    assert store.get("127.0.0.1:5000") == Credentials("a", "b")
    assert store.erase("docker.io") is True
    assert store.get("docker.io") is None
    assert store.erase("docker.io") is False
    assert "127.0.0.1:5000" in json.loads((docker_config / "config.json").read_text())["auths"]


def test_missing_credential_helper_is_named(docker_config: Path) -> None:
    """credsStore names a helper that is not installed: say which one and where it is configured."""
    _write_config(docker_config, {"credsStore": "nonexistent-wharf", "auths": {"x.io": {}}})
    with pytest.raises(Unauthorized, match="docker-credential-nonexistent-wharf .* is not installed"):
        CredentialStore().get("x.io")


def test_credential_helper_protocol(docker_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """credHelpers beats credsStore; get/store/erase speak the helper protocol on stdio."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    db = tmp_path / "helper-db.json"
    db.write_text("{}")
    helper = bindir / "docker-credential-wharftest"
    helper.write_text(f"""#!/usr/bin/env python3
import json, sys
db = json.load(open({str(db)!r}))
verb, data = sys.argv[1], sys.stdin.read()
if verb == "get":
    if data.strip() not in db:
        print("credentials not found in native keychain"); sys.exit(1)
    user, secret = db[data.strip()]
    print(json.dumps({{"ServerURL": data.strip(), "Username": user, "Secret": secret}}))
elif verb == "store":
    entry = json.loads(data); db[entry["ServerURL"]] = [entry["Username"], entry["Secret"]]
    json.dump(db, open({str(db)!r}, "w"))
elif verb == "erase":
    db.pop(data.strip(), None); json.dump(db, open({str(db)!r}, "w"))
""")
    helper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    _write_config(docker_config, {"credsStore": "missing-one", "credHelpers": {"reg.example:5000": "wharftest"}})
    store = CredentialStore()
    assert store.helper_for("reg.example:5000") == "wharftest"
    assert store.get("reg.example:5000") is None  # helper says "not found"
    store.save("reg.example:5000", Credentials("helperuser", "helperpass"))
    assert json.loads(db.read_text()) == {"reg.example:5000": ["helperuser", "helperpass"]}
    config = json.loads((docker_config / "config.json").read_text())
    assert config["auths"]["reg.example:5000"] == {}  # no secret in config.json
    assert store.get("reg.example:5000") == Credentials("helperuser", "helperpass")
    assert store.erase("reg.example:5000")
    assert json.loads(db.read_text()) == {}


def test_static_credentials() -> None:
    """Credentials given in code, keyed like config.json."""
    static = StaticCredentials({"docker.io": ("a", "b"), "127.0.0.1:1": Credentials("c", "d")})
    assert static.get("index.docker.io") == Credentials("a", "b")
    assert static.get("127.0.0.1:1").username == "c"
    assert registry_key("registry-1.docker.io") == "https://index.docker.io/v1/"


def test_plain_http_only_for_loopback_and_insecure() -> None:
    """https only for public hosts; https then http for loopback and hosts marked insecure."""
    from engine.registry.transport import Transport, is_loopback, retry_after_seconds  # noqa: PLC0415

    transport = Transport(None, insecure_registries=["reg.internal:5000"])
    try:
        assert transport._schemes_for("ghcr.io") == ["https"]
        assert transport._schemes_for("reg.internal:5001") == ["https"]
        assert transport._schemes_for("reg.internal:5000") == ["https", "http"]
        for host in ("127.0.0.1:5000", "127.8.9.10", "localhost:1", "[::1]:5000", "localhost"):
            assert is_loopback(host), host
            assert transport._schemes_for(host) == ["https", "http"]
        for host in ("10.0.0.1:5000", "192.0.2.1", "example.com", "[2001:db8::1]:5000"):
            assert not is_loopback(host), host
    finally:
        transport.close()
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert retry_after_seconds("soon") is None
