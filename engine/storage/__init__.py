"""Graph drivers: overlay mounts of layer stacks, and a vfs (copy) fallback.

- ``driver``    the :class:`~engine.storage.driver.GraphDriver` interface, ``MountInfo``, ``Change``
- ``overlay``   overlayfs: ``lowerdir`` uppermost first via ``l/`` links, ``index=off``,
  the new mount API (``lowerdir+``) or ``mount(2)`` with relative options
- ``vfs``       copies the layers (whiteouts applied) where overlay cannot work
- ``changes``   ``docker diff`` from an overlay upper dir
- ``select``    picks overlay when a probe mount works on the state root, else vfs
- ``mountapi``  ctypes wrappers: fsopen/fsconfig/fsmount/move_mount, umount2, statfs
"""
