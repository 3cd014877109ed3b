"""Distribution protocol client: references, auth, manifests, blobs, tags, catalog.

Layers, bottom up: :mod:`.reference` (names and digests) and :mod:`.platforms`
are pure; :mod:`.challenge`, :mod:`.credentials` and :mod:`.auth` decide the
``Authorization`` header; :mod:`.transport` sends requests (schemes, auth
rounds, redirects, retries, error translation); :mod:`.manifest` decodes and
verifies manifests; :mod:`.blobs` streams blobs into a sink; :mod:`.push`
uploads; :class:`RegistryClient` (:mod:`.client`) puts it together.
"""

from engine.registry.blobs import BlobSink, BytesSink
from engine.registry.client import Inspection, PingResult, PlatformEntry, RegistryClient, ResolvedImage
from engine.registry.credentials import CredentialStore, Credentials, StaticCredentials
from engine.registry.manifest import Descriptor, Manifest
from engine.registry.platforms import Platform, host_platform
from engine.registry.reference import Digest, Reference, parse_digest, parse_reference

__all__ = [
    "BlobSink", "BytesSink", "CredentialStore", "Credentials", "Descriptor", "Digest", "Inspection",
    "Manifest", "PingResult", "Platform", "PlatformEntry", "Reference", "RegistryClient",
    "ResolvedImage", "StaticCredentials", "host_platform", "parse_digest", "parse_reference",
]
