"""Graph drivers: overlay mounts of layer stacks, and a vfs (copy) fallback."""
