"""``WWW-Authenticate`` challenges and token scopes.

A header may hold several challenges (``Bearer realm="…",service="…", Basic
realm="…"``), and a response may carry several headers. Schemes are
case-insensitive; parameters are ``key=token`` or ``key="quoted"`` with
backslash escapes. A Bearer ``scope`` may list several scopes separated by
spaces (a cross-repository mount asks for two).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

_TCHARS = set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


@dataclass(frozen=True)
class Challenge:
    """One authentication challenge.

    Attributes:
        scheme: lowercase: ``bearer``, ``basic``, …
        params: parameters with lowercase keys (``realm``, ``service``, ``scope``, ``error``).
    """

    scheme: str
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def realm(self) -> str:
        """Where to get a token (Bearer) or the protection space (Basic)."""
        return self.params.get("realm", "")

    @property
    def service(self) -> str:
        """The ``service`` to name in the token request."""
        return self.params.get("service", "")

    @property
    def scopes(self) -> tuple[str, ...]:
        """The scopes the server asks for (space-separated in the header)."""
        return tuple(self.params.get("scope", "").split())

    @property
    def error(self) -> str:
        """``invalid_token``, ``insufficient_scope`` or ``""``."""
        return self.params.get("error", "")


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def skip(self, chars: str = " \t") -> None:
        while self.pos < len(self.text) and self.text[self.pos] in chars:
            self.pos += 1

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def token(self) -> str:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] in _TCHARS:
            self.pos += 1
        return self.text[start:self.pos]

    def quoted(self) -> str:
        self.pos += 1  # the opening quote
        out: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            self.pos += 1
            if char == "\\" and self.pos < len(self.text):
                out.append(self.text[self.pos])
                self.pos += 1
            elif char == '"':
                break
            else:
                out.append(char)
        return "".join(out)

    def param_ahead(self) -> bool:
        """Whether a ``key=`` (not a new scheme) starts here."""
        save = self.pos
        self.skip()
        key = self.token()
        self.skip()
        ahead = bool(key) and self.peek() == "="
        self.pos = save
        return ahead


def parse_www_authenticate(headers: str | Iterable[str]) -> list[Challenge]:
    """Parse one or more ``WWW-Authenticate`` header values into challenges, in order."""
    values = [headers] if isinstance(headers, str) else list(headers)
    challenges: list[Challenge] = []
    for value in values:
        scan = _Scanner(value)
        while True:
            scan.skip(" \t,")
            scheme = scan.token()
            if not scheme:
                if scan.peek():
                    scan.pos += 1  # garbage: skip a character and go on
                    continue
                break
            params: dict[str, str] = {}
            while scan.param_ahead():
                scan.skip()
                key = scan.token().lower()
                scan.skip()
                scan.pos += 1  # '='
                scan.skip()
                params[key] = scan.quoted() if scan.peek() == '"' else scan.token()
                scan.skip()
                if scan.peek() == ",":
                    scan.pos += 1
                    if not scan.param_ahead():
                        break
            if not params:
                # token68 (e.g. "Negotiate abc==") or a bare scheme: keep the scheme only
                scan.skip()
                while scan.peek() and scan.peek() != ",":
                    scan.pos += 1
            challenges.append(Challenge(scheme.lower(), params))
    return challenges


@dataclass(frozen=True, order=True)
class Scope:
    """A token scope ``type:name:actions`` (``repository:library/busybox:pull``).

    Attributes:
        type: ``repository`` or ``registry``.
        name: the resource; may itself hold ``host:port``.
        actions: sorted actions (``pull``, ``push``, ``delete``, ``*``).
    """

    type: str
    name: str
    actions: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.type}:{self.name}:{','.join(self.actions)}"

    @classmethod
    def parse(cls, text: str) -> Scope:
        """Parse a scope, splitting the actions from the right (names may hold ``:``)."""
        kind, _, rest = text.partition(":")
        name, _, actions = rest.rpartition(":")
        return cls(kind, name, tuple(sorted(a for a in actions.split(",") if a)))

    @classmethod
    def repository(cls, name: str, *actions: str) -> Scope:
        """``repository:<name>:<actions>`` (``pull`` when none given)."""
        return cls("repository", name, tuple(sorted(set(actions or ("pull",)))))

    @classmethod
    def catalog(cls) -> Scope:
        """``registry:catalog:*``, needed for ``/v2/_catalog``."""
        return cls("registry", "catalog", ("*",))


def merge_scopes(first: Iterable[str], then: Iterable[str]) -> tuple[str, ...]:
    """Union of scope strings, ``first`` first (some registries read only the first scope).

    Scopes on the same resource are merged into one with the union of actions.
    """
    merged: dict[tuple[str, str], set[str]] = {}
    for text in [*first, *then]:
        scope = Scope.parse(text)
        merged.setdefault((scope.type, scope.name), set()).update(scope.actions)
    return tuple(str(Scope(kind, name, tuple(sorted(actions))))
                 for (kind, name), actions in merged.items())
