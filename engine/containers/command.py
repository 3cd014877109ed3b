"""How Docker turns an image's config and a create request into a process.

Pure functions, no I/O: the Entrypoint/Cmd rules, the environment merge and
the defaults a container gets (``PATH``, ``HOSTNAME``, ``TERM``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from engine.errors import InvalidSpec

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
"""The ``PATH`` a container gets when neither the image nor the user sets one."""


def resolve_command(image_entrypoint: Sequence[str] | None, image_cmd: Sequence[str] | None,
                    entrypoint: Sequence[str] | None, cmd: Sequence[str] | None) -> list[str]:
    """The argv of a container, by Docker's rules.

    - A user entrypoint replaces the image's and drops the image's Cmd; an
      explicitly empty one (``[]``) clears the image's entrypoint.
    - Otherwise the image's entrypoint stays, and Cmd is the user's or the image's.
    - argv is Entrypoint + Cmd.

    Args:
        image_entrypoint: ``Config.Entrypoint`` of the image (``None`` if unset).
        image_cmd: ``Config.Cmd`` of the image.
        entrypoint: what the user asked for (``None``: not given).
        cmd: what the user asked for (``None`` or empty: not given).

    Raises:
        InvalidSpec: nothing to run (neither an entrypoint nor a command).
    """
    if entrypoint is not None:
        chosen_entrypoint = list(entrypoint)
        chosen_cmd = list(cmd or [])
    else:
        chosen_entrypoint = list(image_entrypoint or [])
        chosen_cmd = list(cmd) if cmd else list(image_cmd or [])
    argv = chosen_entrypoint + chosen_cmd
    if not argv:
        raise InvalidSpec("no command specified: the image has no Cmd or Entrypoint, give one")
    return argv


def _key(entry: str) -> str:
    return entry.split("=", 1)[0]


def merge_env(image_env: Iterable[str] | None, user_env: Iterable[str] | None, *,
              hostname: str = "", tty: bool = False) -> list[str]:
    """The environment of a container: defaults, then the image's, then the user's.

    Later entries replace earlier ones with the same name, keeping the first
    position. ``HOSTNAME`` and (with a tty) ``TERM=xterm`` come first, as Docker
    does, and ``PATH`` defaults to :data:`DEFAULT_PATH`.

    Raises:
        InvalidSpec: an entry with an empty name or a NUL byte.
    """
    merged: dict[str, str] = {}
    defaults = [f"PATH={DEFAULT_PATH}"]
    if hostname:
        defaults.append(f"HOSTNAME={hostname}")
    if tty:
        defaults.append("TERM=xterm")
    for entry in [*defaults, *(image_env or []), *(user_env or [])]:
        if "\0" in entry:
            raise InvalidSpec(f"environment variable contains a NUL byte: {entry!r}")
        name = _key(entry)
        if not name:
            raise InvalidSpec(f"invalid environment variable: {entry!r}")
        if "=" not in entry:
            continue  # "NAME" alone means "take it from the client's environment": the client does that
        merged[name] = entry
    return list(merged.values())
