"""The registry package's public surface, pinned (the pull orchestration is written against it)."""

from __future__ import annotations

import inspect

import engine.registry as registry
from engine.registry import BlobSink, BytesSink, RegistryClient


def test_exported_members() -> None:
    """Everything in __all__ exists; nothing else is added silently."""
    assert sorted(registry.__all__) == sorted([
        "BlobSink", "BytesSink", "CredentialStore", "Credentials", "Descriptor", "Digest", "Inspection",
        "Manifest", "PingResult", "Platform", "PlatformEntry", "Reference", "RegistryClient",
        "ResolvedImage", "StaticCredentials", "host_platform", "parse_digest", "parse_reference"])
    for name in registry.__all__:
        assert getattr(registry, name).__doc__, name


def test_client_methods_and_sink_protocol() -> None:
    """The client's methods keep their names and documented signatures; BytesSink is a BlobSink."""
    methods = {name for name, _ in inspect.getmembers(RegistryClient, inspect.isfunction) if not name.startswith("_")}
    assert {"ping", "get_manifest", "head_manifest", "resolve", "fetch_blob", "get_blob", "get_config",
            "inspect", "iter_tags", "list_tags", "catalog", "delete_manifest", "blob_exists", "mount_blob",
            "push_blob", "put_manifest", "close"} <= methods
    params = list(inspect.signature(RegistryClient.fetch_blob).parameters)
    assert params[:6] == ["self", "repo", "descriptor", "sink", "offset", "progress"]
    assert isinstance(BytesSink(), BlobSink)
    for name in methods:
        assert getattr(RegistryClient, name).__doc__, name
