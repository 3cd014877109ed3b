"""Registry credentials from the user's Docker ``config.json`` and credential helpers.

Docker keeps credentials in ``$DOCKER_CONFIG/config.json`` (default
``~/.docker/config.json``): ``auths`` maps a registry to ``{"auth":
base64("user:password")}`` (Docker Hub's key is ``https://index.docker.io/v1/``);
``credHelpers`` names a helper per registry and ``credsStore`` one for all,
run as ``docker-credential-<name> get|store|erase`` with JSON on stdio.
:class:`CredentialStore` reads all of that and writes it as ``docker login``
and ``docker logout`` do.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from engine.errors import RegistryError, Unauthorized
from engine.registry.reference import DEFAULT_API_HOST, DEFAULT_DOMAIN, HUB_CONFIG_KEY, LEGACY_DEFAULT_DOMAIN

_TOKEN_USER = "<token>"


@dataclass(frozen=True)
class Credentials:
    """What to authenticate to one registry with.

    Attributes:
        username: the user name (``""`` with an identity token only).
        password: the password or personal access token.
        identity_token: an OAuth2 refresh token (``docker login`` with some registries).
    """

    username: str
    password: str = ""
    identity_token: str = ""

    def __repr__(self) -> str:  # never show secrets in logs or tracebacks
        return f"Credentials(username={self.username!r}, password=***)"

    @property
    def identity(self) -> str:
        """Who these credentials are, for cache keys: the user name."""
        return self.username or _TOKEN_USER


class CredentialSource(Protocol):
    """Anything that can find credentials for a registry."""

    def get(self, registry: str) -> Credentials | None:
        """Credentials for ``registry`` (a domain as in a reference), or ``None``."""


def registry_key(registry: str) -> str:
    """The ``config.json`` key for a registry domain (Docker Hub's is special)."""
    host = _hostname(registry)
    if host in (DEFAULT_DOMAIN, LEGACY_DEFAULT_DOMAIN, DEFAULT_API_HOST):
        return HUB_CONFIG_KEY
    return host


def _hostname(key: str) -> str:
    """``https://host:5000/v1/`` → ``host:5000`` (Docker's convertToHostname)."""
    for prefix in ("http://", "https://"):
        if key.startswith(prefix):
            key = key[len(prefix):]
    return key.split("/", 1)[0]


def default_config_path(env: Mapping[str, str] | None = None) -> Path:
    """``$DOCKER_CONFIG/config.json`` or ``~/.docker/config.json``."""
    env = os.environ if env is None else env
    folder = env.get("DOCKER_CONFIG")
    if folder:
        return Path(folder) / "config.json"
    return Path(env.get("HOME") or os.path.expanduser("~")) / ".docker" / "config.json"


class StaticCredentials:
    """Credentials given in code: ``{"127.0.0.1:5000": Credentials("u", "p")}``.

    Args:
        entries: registry domain → :class:`Credentials` or ``(username, password)``.
    """

    def __init__(self, entries: Mapping[str, Credentials | tuple[str, str]]) -> None:
        self._entries = {registry_key(k): v if isinstance(v, Credentials) else Credentials(*v)
                         for k, v in entries.items()}

    def get(self, registry: str) -> Credentials | None:
        """Credentials for ``registry`` or ``None``."""
        return self._entries.get(registry_key(registry))


class CredentialStore:
    """Docker's credential store: ``config.json`` plus credential helpers.

    Args:
        config_path: the ``config.json`` to use; default :func:`default_config_path`.
    """

    def __init__(self, config_path: Path | str | None = None) -> None:
        self.path = Path(config_path) if config_path else default_config_path()

    def _load(self) -> dict:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise RegistryError(f"cannot read Docker config {self.path}: {exc}") from None
        return data if isinstance(data, dict) else {}

    def helper_for(self, registry: str) -> str | None:
        """The credential helper's name for ``registry`` (``credHelpers`` over ``credsStore``)."""
        data = self._load()
        key = registry_key(registry)
        helpers = data.get("credHelpers") or {}
        for name, helper in helpers.items():
            if registry_key(name) == key and helper:
                return str(helper)
        store = data.get("credsStore")
        return str(store) if store else None

    def get(self, registry: str) -> Credentials | None:
        """Credentials for ``registry``, or ``None`` when there are none.

        Raises:
            Unauthorized: a configured credential helper is not installed or failed.
        """
        key = registry_key(registry)
        helper = self.helper_for(registry)
        if helper:
            found = self._helper_get(helper, key)
            if found is not None:
                return found
        for name, entry in (self._load().get("auths") or {}).items():
            if registry_key(name) != key or not isinstance(entry, dict):
                continue
            return _decode_entry(entry, name, self.path)
        return None

    def save(self, registry: str, credentials: Credentials) -> None:
        """Store credentials as ``docker login`` does (helper if configured, else ``auths``)."""
        key = registry_key(registry)
        helper = self.helper_for(registry)
        data = self._load()
        auths = data.setdefault("auths", {})
        if helper:
            payload = {"ServerURL": key, "Username": credentials.username or _TOKEN_USER,
                       "Secret": credentials.identity_token or credentials.password}
            self._helper_run(helper, "store", json.dumps(payload))
            auths[key] = {}
        else:
            entry: dict[str, str] = {}
            if credentials.identity_token:
                entry["identitytoken"] = credentials.identity_token
            else:
                raw = f"{credentials.username}:{credentials.password}".encode()
                entry["auth"] = base64.b64encode(raw).decode()
            auths[key] = entry
        self._write(data)

    def erase(self, registry: str) -> bool:
        """Remove credentials as ``docker logout`` does; whether anything was removed."""
        key = registry_key(registry)
        helper = self.helper_for(registry)
        removed = False
        if helper:
            try:
                self._helper_run(helper, "erase", key)
                removed = True
            except RegistryError:
                pass
        data = self._load()
        auths = data.get("auths") or {}
        for name in [n for n in auths if registry_key(n) == key]:
            del auths[name]
            removed = True
        if removed:
            self._write(data)
        return removed

    def _write(self, data: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".config.json.")
        try:
            with os.fdopen(fd, "w") as out:
                json.dump(data, out, indent="\t")
                out.write("\n")
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _helper_get(self, helper: str, key: str) -> Credentials | None:
        output = self._helper_run(helper, "get", key, missing_ok=True)
        if output is None:
            return None
        try:
            answer = json.loads(output)
        except ValueError:
            raise Unauthorized(f"credential helper docker-credential-{helper} printed no JSON") from None
        username, secret = str(answer.get("Username", "")), str(answer.get("Secret", ""))
        if username == _TOKEN_USER:
            return Credentials("", identity_token=secret)
        return Credentials(username, secret)

    def _helper_run(self, helper: str, verb: str, stdin: str, missing_ok: bool = False) -> str | None:
        program = f"docker-credential-{helper}"
        if shutil.which(program) is None:
            raise Unauthorized(
                f"credential helper {program} (configured in {self.path}) is not installed: "
                f"install it, or remove \"{helper}\" from credsStore/credHelpers",
                title="Credential helper missing")
        try:
            done = subprocess.run([program, verb], input=stdin.encode(), capture_output=True,
                                  timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise Unauthorized(f"credential helper {program} failed: {exc}") from None
        if done.returncode != 0:
            message = (done.stdout or done.stderr).decode(errors="replace").strip()
            if missing_ok and "credentials not found" in message.lower():
                return None
            raise Unauthorized(f"credential helper {program} {verb} failed: {message or done.returncode}")
        return done.stdout.decode()


def _decode_entry(entry: Mapping[str, str], name: str, path: Path) -> Credentials | None:
    if entry.get("identitytoken"):
        return Credentials(str(entry.get("username", "")), identity_token=str(entry["identitytoken"]))
    if entry.get("auth"):
        try:
            user, sep, password = base64.b64decode(entry["auth"]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            raise RegistryError(f"invalid auth for {name} in {path}: not base64 of user:password") from None
        if not sep:
            raise RegistryError(f"invalid auth for {name} in {path}: no ':' between user and password")
        return Credentials(user, password)
    if entry.get("username"):
        return Credentials(str(entry["username"]), str(entry.get("password", "")))
    return None
