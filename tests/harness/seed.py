"""Seed a registry with demo images built locally by real tools (no internet needed).

``python -m harness.seed --registry 127.0.0.1:5000 [--debian]`` pushes
``busybox:latest`` (OCI), ``busybox:v2s2`` (Docker schema2), ``busybox-zstd``,
a multi-platform ``multiarch`` index, the ``layered`` image and, with
``--debian``, ``debian:bookworm`` from debootstrap.
"""

from __future__ import annotations

import argparse

from harness.images import busybox_layout, debian_layout, push_layout, push_test_images


def main() -> int:
    """Build (or reuse from the cache) and push the demo images."""
    parser = argparse.ArgumentParser(prog="python -m harness.seed", description=__doc__)
    parser.add_argument("--registry", required=True, help="host:port of the registry")
    parser.add_argument("--debian", action="store_true", help="also push a debootstrap Debian image")
    args = parser.parse_args()
    images = push_test_images(args.registry)
    pushed = [images.busybox_oci, images.busybox_v2s2, images.busybox_zstd, images.multiarch, images.layered]
    pushed.append(push_layout(busybox_layout(), args.registry, "busybox", "v2s2", docker_v2s2=True))
    if args.debian:
        pushed.append(push_layout(debian_layout(), args.registry, "debian", "bookworm"))
    for image in pushed:
        print(f"  {image.reference}  {image.digest[:19]}  {image.media_type}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
