"""The image graph: content store, layer store (by chain ID), image records."""
