"""Image references and digests, normalised as Docker does, and every way to get them wrong."""

from __future__ import annotations

import hashlib

import pytest

from engine.errors import InvalidReference
from engine.registry.reference import Digest, Reference, parse_digest, parse_reference, parse_repository

H = "a" * 64
S512 = "b" * 128


@pytest.mark.parametrize(("text", "full", "familiar", "api_host"), [
    ("busybox", "docker.io/library/busybox:latest", "busybox:latest", "registry-1.docker.io"),
    ("busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36", "registry-1.docker.io"),
    ("library/busybox", "docker.io/library/busybox:latest", "busybox:latest", "registry-1.docker.io"),
    ("docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest", "registry-1.docker.io"),
    ("index.docker.io/library/busybox:x", "docker.io/library/busybox:x", "busybox:x", "registry-1.docker.io"),
    ("index.docker.io/foo", "docker.io/library/foo:latest", "foo:latest", "registry-1.docker.io"),
    ("foo/bar", "docker.io/foo/bar:latest", "foo/bar:latest", "registry-1.docker.io"),
    ("foo/bar/baz:t", "docker.io/foo/bar/baz:t", "foo/bar/baz:t", "registry-1.docker.io"),
    ("docker.io/library/a/b", "docker.io/library/a/b:latest", "library/a/b:latest", "registry-1.docker.io"),
    ("localhost/x", "localhost/x:latest", "localhost/x:latest", "localhost"),
    ("localhost:5000/a/b", "localhost:5000/a/b:latest", "localhost:5000/a/b:latest", "localhost:5000"),
    (f"localhost:5000/a/b@sha256:{H}", f"localhost:5000/a/b@sha256:{H}", f"localhost:5000/a/b@sha256:{H}",
     "localhost:5000"),
    (f"busybox@sha256:{H}", f"docker.io/library/busybox@sha256:{H}", f"busybox@sha256:{H}",
     "registry-1.docker.io"),
    (f"busybox:1@sha256:{H}", f"docker.io/library/busybox:1@sha256:{H}", f"busybox:1@sha256:{H}",
     "registry-1.docker.io"),
    ("ghcr.io/owner/img:v1.2", "ghcr.io/owner/img:v1.2", "ghcr.io/owner/img:v1.2", "ghcr.io"),
    ("127.0.0.1:41234/busybox", "127.0.0.1:41234/busybox:latest", "127.0.0.1:41234/busybox:latest",
     "127.0.0.1:41234"),
    ("[::1]:5000/x:y", "[::1]:5000/x:y", "[::1]:5000/x:y", "[::1]:5000"),
    ("Foo/bar", "Foo/bar:latest", "Foo/bar:latest", "Foo"),  # uppercase first part = a host
    ("localhost:5000", "docker.io/library/localhost:5000", "localhost:5000", "registry-1.docker.io"),
    ("foo/e_f.g--h__i-j", "docker.io/foo/e_f.g--h__i-j:latest", "foo/e_f.g--h__i-j:latest",
     "registry-1.docker.io"),
    ("my-reg.example.com:443/e", "my-reg.example.com:443/e:latest", "my-reg.example.com:443/e:latest",
     "my-reg.example.com:443"),
    (f"x@sha512:{S512}", f"docker.io/library/x@sha512:{S512}", f"x@sha512:{S512}", "registry-1.docker.io"),
    ("x:_under.score-1", "docker.io/library/x:_under.score-1", "x:_under.score-1", "registry-1.docker.io"),
])
def test_normalises_like_docker(text: str, full: str, familiar: str, api_host: str) -> None:
    """Each reference normalises to Docker's full form, short form and API host."""
    ref = parse_reference(text)
    assert str(ref) == full
    assert ref.familiar() == familiar
    assert ref.api_host == api_host
    assert parse_reference(full) == ref  # the full form parses back to the same thing


def test_fields() -> None:
    """domain, path, tag and digest are split as Docker splits them."""
    ref = parse_reference(f"localhost:5000/a/b:t@sha256:{H}")
    assert (ref.domain, ref.path, ref.tag) == ("localhost:5000", "a/b", "t")
    assert ref.digest == Digest("sha256", H)
    assert ref.identifier == f"sha256:{H}"
    assert ref.name == "localhost:5000/a/b"
    assert parse_reference("busybox").identifier == "latest"
    assert parse_reference("busybox").config_key == "https://index.docker.io/v1/"
    assert parse_reference("quay.io/a/b").config_key == "quay.io"
    assert parse_reference(f"busybox@sha256:{H}").tag is None
    assert str(parse_repository("busybox:1")) == "docker.io/library/busybox"


def test_with_tag_and_digest() -> None:
    """Pinning to a digest keeps the tag; a new tag drops the digest."""
    ref = parse_reference("busybox:1")
    assert str(ref.with_digest(f"sha256:{H}")) == f"docker.io/library/busybox:1@sha256:{H}"
    assert str(ref.with_digest(f"sha256:{H}").with_tag("2")) == "docker.io/library/busybox:2"
    with pytest.raises(InvalidReference, match="invalid tag"):
        ref.with_tag("-bad")
    assert isinstance(ref, Reference)


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty"),
    ("Busybox", r"repository name \(library/Busybox\) must be lowercase"),
    ("docker.io/Library/busybox", r"repository name \(Library/busybox\) must be lowercase"),
    ("localhost:5000/A/b", r"repository name \(A/b\) must be lowercase"),
    ("busybox:", "invalid tag ''"),
    ("busybox:-x", "invalid tag '-x'"),
    ("busybox:a$b", r"invalid tag 'a\$b'"),
    ("busybox:" + "t" * 129, "tag is 129 characters long, at most 128"),
    ("busybox@sha256:abc", "sha256 needs 64 hex digits, got 3"),
    (f"busybox@sha256:{'A' * 64}", "only lowercase 0-9a-f"),
    (f"busybox@sha256:{'g' * 64}", "only lowercase 0-9a-f"),
    (f"busybox@md5:{'a' * 32}", "unsupported digest algorithm 'md5'"),
    ("busybox@", "not followed by a digest"),
    (f"busybox@sha256:{H}@sha256:{H}", "more than one '@'"),
    ("busybox@sha256", "expected algorithm:hex"),
    (H, "cannot specify 64-byte hexadecimal strings"),
    ("-x", "invalid path component '-x'"),
    ("x-/y", "invalid path component 'x-'"),
    ("a//b", "empty path component"),
    ("a/", "empty path component"),
    ("x__/y", "invalid path component"),
    ("a..b/c", "invalid registry host 'a..b'"),
    ("a.b_c/x", "invalid registry host 'a.b_c'"),
    ("-host.io/x", "invalid registry host"),
    ("host.io:port/x", "invalid registry host"),
    (":tag", "repository name is empty"),
    ("ho st/x", "whitespace"),
    (" busybox", "whitespace"),
    ("a/" * 130 + "b", "at most 255"),
])
def test_malformed_references_name_the_problem(text: str, message: str) -> None:
    """A malformed reference raises InvalidReference saying exactly what is wrong."""
    with pytest.raises(InvalidReference, match=message):
        parse_reference(text)


def test_name_of_exactly_255_is_allowed() -> None:
    """The 255-character limit counts domain, slash and path."""
    path = "a" * (255 - len("docker.io/library/"))
    assert parse_reference(path).path == "library/" + path
    with pytest.raises(InvalidReference, match="256 characters"):
        parse_reference(path + "a")


def test_digests() -> None:
    """sha256 and sha512 digests parse, compute and verify; others are refused."""
    data = b"hello"
    d256 = Digest.of(data)
    assert str(d256) == "sha256:" + hashlib.sha256(data).hexdigest()
    d512 = Digest.of(data, "sha512")
    assert parse_digest(str(d512)) == d512 and len(d512.hex) == 128
    hasher = d512.hasher()
    hasher.update(data)
    assert d512.matches(hasher) and not d256.matches(hasher)
    assert d256.short == d256.hex[:12]
    with pytest.raises(InvalidReference, match="sha512 needs 128"):
        parse_digest("sha512:" + "a" * 64)
    with pytest.raises(InvalidReference, match="malformed algorithm"):
        parse_digest("SHA256:" + "a" * 64)
