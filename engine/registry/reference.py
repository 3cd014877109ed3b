"""Image references and digests, normalised exactly as Docker does.

``busybox`` means ``docker.io/library/busybox:latest``; the first path
component is a registry host only if it holds a ``.`` or a ``:``, is
``localhost``, or has an uppercase letter (host names are case-insensitive,
repository names are not). ``index.docker.io`` is ``docker.io``, whose API
lives at ``registry-1.docker.io``.

Grammar (``distribution/reference``)::

    reference  := name [ ":" tag ] [ "@" digest ]
    name       := [domain "/"] component ("/" component)*
    domain     := host [":" port]          host: DNS labels, or [IPv6]
    component  := [a-z0-9]+ ((\\.|_|__|-+) [a-z0-9]+)*
    tag        := [\\w][\\w.-]{0,127}
    digest     := algorithm ":" hex

A malformed reference raises :class:`engine.errors.InvalidReference` whose
message names the part that is wrong.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace

from engine.errors import InvalidReference

DEFAULT_DOMAIN = "docker.io"
"""The registry a reference without a host refers to."""

LEGACY_DEFAULT_DOMAIN = "index.docker.io"
"""An old spelling of :data:`DEFAULT_DOMAIN`."""

DEFAULT_API_HOST = "registry-1.docker.io"
"""Where Docker Hub's distribution API actually answers."""

HUB_CONFIG_KEY = "https://index.docker.io/v1/"
"""The key Docker Hub's credentials have in ``~/.docker/config.json``."""

OFFICIAL_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_TOTAL_LENGTH_MAX = 255

_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DOMAIN_LABEL = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(rf"(?:{_DOMAIN_LABEL}(?:\.{_DOMAIN_LABEL})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?")
_ALGORITHM = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*")
_HEX64 = re.compile(r"[a-f0-9]{64}")

DIGEST_ALGORITHMS: dict[str, int] = {"sha256": 64, "sha384": 96, "sha512": 128}
"""Digest algorithms Wharf can verify, with the length of their hex encoding."""


@dataclass(frozen=True, order=True)
class Digest:
    """A content digest such as ``sha256:9f86d0…``.

    Attributes:
        algorithm: ``sha256``, ``sha384`` or ``sha512``.
        hex: the lowercase hex encoding, of the algorithm's exact length.
    """

    algorithm: str
    hex: str

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"

    @classmethod
    def parse(cls, text: str) -> Digest:
        """Parse and validate ``algorithm:hex``; see :func:`parse_digest`."""
        return parse_digest(text)

    @classmethod
    def of(cls, data: bytes, algorithm: str = "sha256") -> Digest:
        """The digest of ``data`` with ``algorithm``."""
        return cls(algorithm, hashlib.new(algorithm, data).hexdigest())

    def hasher(self) -> hashlib._Hash:
        """A fresh hash object of this digest's algorithm."""
        return hashlib.new(self.algorithm)

    def matches(self, hasher: hashlib._Hash) -> bool:
        """Whether a hash object fed with some content ends at this digest."""
        return hasher.name == self.algorithm and hasher.hexdigest() == self.hex

    @property
    def short(self) -> str:
        """The first 12 hex digits, as Docker shows layer IDs."""
        return self.hex[:12]


def parse_digest(text: str) -> Digest:
    """Parse and validate a digest.

    Args:
        text: ``sha256:<64 hex>`` or ``sha512:<128 hex>`` (``sha384`` too).

    Returns:
        The :class:`Digest`.

    Raises:
        InvalidReference: the text has no ``:``, an unsupported algorithm, or
            hex of the wrong length or with characters other than ``0-9a-f``.
    """
    algorithm, sep, hexpart = text.partition(":")
    if not sep or not algorithm or not hexpart:
        raise InvalidReference(f"invalid digest {text!r}: expected algorithm:hex, e.g. sha256:<64 hex digits>")
    if not _ALGORITHM.fullmatch(algorithm):
        raise InvalidReference(f"invalid digest {text!r}: malformed algorithm {algorithm!r}")
    if algorithm not in DIGEST_ALGORITHMS:
        raise InvalidReference(
            f"invalid digest {text!r}: unsupported digest algorithm {algorithm!r} "
            f"(supported: {', '.join(DIGEST_ALGORITHMS)})")
    length = DIGEST_ALGORITHMS[algorithm]
    if len(hexpart) != length:
        raise InvalidReference(
            f"invalid digest {text!r}: {algorithm} needs {length} hex digits, got {len(hexpart)}")
    if not re.fullmatch(r"[a-f0-9]+", hexpart):
        raise InvalidReference(
            f"invalid digest {text!r}: the hex part may hold only lowercase 0-9a-f")
    return Digest(algorithm, hexpart)


@dataclass(frozen=True)
class Reference:
    """A normalised image reference.

    Attributes:
        domain: the registry as the user names it (``docker.io``, ``localhost:5000``).
        path: the repository inside it (``library/busybox``).
        tag: the tag, or ``None`` when only a digest was given.
        digest: the manifest digest, or ``None``.
    """

    domain: str
    path: str
    tag: str | None = DEFAULT_TAG
    digest: Digest | None = None

    def __str__(self) -> str:
        text = self.name
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text

    @property
    def name(self) -> str:
        """``domain/path`` without tag or digest."""
        return f"{self.domain}/{self.path}"

    @property
    def api_host(self) -> str:
        """The host (and port) the distribution API answers on."""
        return DEFAULT_API_HOST if self.domain == DEFAULT_DOMAIN else self.domain

    @property
    def config_key(self) -> str:
        """The key of this registry's credentials in Docker's ``config.json``."""
        return HUB_CONFIG_KEY if self.domain == DEFAULT_DOMAIN else self.domain

    @property
    def identifier(self) -> str:
        """What goes after ``/manifests/``: the digest if known, else the tag."""
        if self.digest is not None:
            return str(self.digest)
        return self.tag or DEFAULT_TAG

    def familiar(self) -> str:
        """Docker's short form: ``busybox:latest``, ``foo/bar@sha256:…``, ``localhost:5000/a:b``."""
        name = self.familiar_name()
        if self.tag is not None:
            name += f":{self.tag}"
        if self.digest is not None:
            name += f"@{self.digest}"
        return name

    def familiar_name(self) -> str:
        """The repository as Docker shows it: ``busybox``, ``foo/bar``, ``ghcr.io/x/y``."""
        if self.domain != DEFAULT_DOMAIN:
            return self.name
        rest = self.path
        if rest.startswith(OFFICIAL_PREFIX) and "/" not in rest[len(OFFICIAL_PREFIX):]:
            rest = rest[len(OFFICIAL_PREFIX):]
        return rest

    def with_digest(self, digest: Digest | str) -> Reference:
        """The same repository and tag, pinned to ``digest``."""
        return replace(self, digest=digest if isinstance(digest, Digest) else parse_digest(digest))

    def with_tag(self, tag: str) -> Reference:
        """The same repository with ``tag`` and no digest."""
        if not _TAG.fullmatch(tag):
            raise InvalidReference(_bad_tag(tag, tag))
        return replace(self, tag=tag, digest=None)

    def repository(self) -> Reference:
        """The bare repository (no tag, no digest), used for blob operations."""
        return replace(self, tag=None, digest=None)


def _bad_tag(text: str, tag: str) -> str:
    if len(tag) > 128:
        return f"invalid reference {text!r}: tag is {len(tag)} characters long, at most 128 are allowed"
    return (f"invalid reference {text!r}: invalid tag {tag!r}: a tag is letters, digits, '_', '.' "
            "and '-', starting with a letter, digit or '_'")


def split_domain(name: str) -> tuple[str, str]:
    """Split a (not yet validated) name into domain and path, adding Docker's defaults."""
    first, slash, rest = name.partition("/")
    if not slash or (not any(c in first for c in ".:") and first != "localhost"
                     and first.lower() == first):
        domain, path = DEFAULT_DOMAIN, name
    else:
        domain, path = first, rest
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = OFFICIAL_PREFIX + path
    return domain, path


def parse_reference(text: str, *, default_tag: bool = True) -> Reference:
    """Parse and normalise an image reference as Docker does.

    Args:
        text: e.g. ``busybox``, ``library/busybox:1.36``, ``ghcr.io/a/b@sha256:…``,
            ``localhost:5000/a/b:t``, ``[::1]:5000/x``.
        default_tag: add ``latest`` when neither tag nor digest is given.

    Returns:
        The normalised :class:`Reference`; ``str()`` of it is the full form.

    Raises:
        InvalidReference: naming what is wrong (empty, uppercase repository,
            invalid tag, invalid digest, invalid domain, a bare 64-hex ID,
            or a name over 255 characters).
    """
    if not isinstance(text, str) or not text:
        raise InvalidReference("invalid reference format: the reference is empty")
    if text != text.strip() or any(c.isspace() for c in text):
        raise InvalidReference(f"invalid reference {text!r}: contains whitespace")
    if _HEX64.fullmatch(text):
        raise InvalidReference(
            f"invalid repository name ({text}), cannot specify 64-byte hexadecimal strings")
    remainder, at, digest_text = text.partition("@")
    digest = None
    if at:
        if not digest_text:
            raise InvalidReference(f"invalid reference {text!r}: '@' is not followed by a digest")
        if "@" in digest_text:
            raise InvalidReference(f"invalid reference {text!r}: more than one '@'")
        try:
            digest = parse_digest(digest_text)
        except InvalidReference as exc:
            raise InvalidReference(f"invalid reference {text!r}: {exc}") from None
    tag = None
    colon = remainder.rfind(":")
    if colon > remainder.rfind("/"):
        remainder, tag = remainder[:colon], remainder[colon + 1:]
        if not _TAG.fullmatch(tag):
            raise InvalidReference(_bad_tag(text, tag))
    if not remainder:
        raise InvalidReference(f"invalid reference {text!r}: the repository name is empty")
    domain, path = split_domain(remainder)
    if domain != DEFAULT_DOMAIN and not _DOMAIN.fullmatch(domain):
        raise InvalidReference(f"invalid reference {text!r}: invalid registry host {domain!r}")
    for component in path.split("/"):
        if not component:
            raise InvalidReference(f"invalid reference {text!r}: empty path component in {path!r}")
        if not _COMPONENT.fullmatch(component):
            if _COMPONENT.fullmatch(component.lower()):
                raise InvalidReference(
                    f"invalid reference format: repository name ({path}) must be lowercase")
            raise InvalidReference(
                f"invalid reference {text!r}: invalid path component {component!r}: use lowercase "
                "letters and digits, separated by '.', '_', '__' or '-'")
    name_length = len(domain) + 1 + len(path)
    if name_length > NAME_TOTAL_LENGTH_MAX:
        raise InvalidReference(
            f"invalid reference {text[:40]!r}…: repository name is {name_length} characters long, "
            f"at most {NAME_TOTAL_LENGTH_MAX} are allowed")
    if tag is None and digest is None and default_tag:
        tag = DEFAULT_TAG
    return Reference(domain, path, tag, digest)


def parse_repository(text: str) -> Reference:
    """Parse a repository name (tag and digest, if any, are dropped)."""
    return parse_reference(text, default_tag=False).repository()
