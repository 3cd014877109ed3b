"""The image graph: content store, layer store (by chain ID), image records.

How the pieces stack (imports point downward):

- ``store``      image records: references → image ID (config digest) → layers;
  typed inspect/history (``engine.model``), tag, untag, remove (``removal``), prune,
  disk usage; ``importer`` turns a rootfs tarball into a one-layer image
- ``pull``       registry → content store → layer store → record (a Job)
- ``layers``     unpacked layers named by ChainID, overlay2's on-disk layout,
  shared work for concurrent requests, garbage collection
- ``unpack``     one layer stream into a folder, safely (``confined`` fds,
  ``tarstream`` headers, ``decompress`` sniffing gzip/zstd/plain in a thread)
- ``content``    blobs by digest, verified before visible, resumable ingests
- ``records``    the record dataclasses and their typed views
"""
