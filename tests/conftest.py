"""The test harness shared by every suite: real registries, real images, a leak guard.

Session fixtures:

- ``registry``: Debian's docker-registry on a free 127.0.0.1 port, anonymous.
- ``auth_registry``: another one with htpasswd (bcrypt) auth.
- ``test_images``: the standard images (see ``harness.images.TestImages``),
  made by umoci, skopeo and tar and pushed into ``registry``.
- ``debian_image``: a debootstrap Debian image pushed into ``registry``
  (tests using it are marked ``debian``; built once and cached).

The leak guard compares the machine before and after the session and fails
the run when tests left mounts, cgroups, links, namespaces, iptables rules
or processes behind. It is strict under CI (``CI=true``) or with
``WHARF_LEAK_GUARD=strict``; elsewhere it reports without failing, because
other work on a developer's machine changes the same global state.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import leaks
from harness.images import ImageRef, TestImages, debian_layout, push_layout, push_test_images
from harness.registry import Registry, registry_available, start_registry

_SESSION_MARKER = uuid.uuid4().hex
os.environ[leaks.SESSION_VARIABLE] = _SESSION_MARKER


def _guard_is_strict() -> bool:
    mode = os.environ.get("WHARF_LEAK_GUARD", "")
    return mode == "strict" or (mode != "warn" and os.environ.get("CI", "").lower() == "true")


def pytest_sessionstart(session: pytest.Session) -> None:
    """Record the machine's state before any test runs."""
    session.config.stash[_BEFORE] = leaks.take_snapshot(_SESSION_MARKER)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """After every fixture is torn down: name what the tests left behind."""
    before = session.config.stash.get(_BEFORE, None)
    if before is None:
        return
    leaks.remove_empty_parents(before)
    found = leaks.leaks_since(before, leaks.take_snapshot(_SESSION_MARKER))
    session.config.stash[_LEAKS] = found
    if found and _guard_is_strict():
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the leak guard's findings at the end of the run."""
    found = terminalreporter.config.stash.get(_LEAKS, [])
    if found:
        verdict = "FAILED" if _guard_is_strict() else "warning"
        terminalreporter.section(f"leak guard: {verdict}: tests left these behind")
        for line in found:
            terminalreporter.write_line(line)


_BEFORE = pytest.StashKey[leaks.Snapshot]()
_LEAKS = pytest.StashKey[list[str]]()


def _require_tools(*tools: str) -> None:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"missing tools {missing}: run ./setup.sh test (it installs them)")


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """A real anonymous docker-registry on 127.0.0.1, stopped by PID at the end."""
    if not registry_available():
        pytest.fail("docker-registry is not installed: run ./setup.sh test")
    instance = start_registry(tmp_path_factory.mktemp("registry"))
    yield instance
    instance.remove()


@pytest.fixture(scope="session")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """A real docker-registry with htpasswd (bcrypt) auth: user ``wharf``."""
    if not registry_available():
        pytest.fail("docker-registry is not installed: run ./setup.sh test")
    instance = start_registry(tmp_path_factory.mktemp("auth-registry"),
                              username="wharf", password="correct horse battery")
    yield instance
    instance.remove()


@pytest.fixture(scope="session")
def test_images(registry: Registry) -> TestImages:
    """The standard test images, made by real tools and pushed into ``registry``."""
    _require_tools("umoci", "skopeo", "tar")
    return push_test_images(registry.host)


@pytest.fixture(scope="session")
def auth_image(auth_registry: Registry, test_images: TestImages) -> ImageRef:
    """The busybox image pushed into the htpasswd registry (as ``private/busybox``)."""
    from harness.images import busybox_layout  # noqa: PLC0415

    return push_layout(busybox_layout(), auth_registry.host, "private/busybox", "latest",
                       creds=auth_registry.auth)


@pytest.fixture(scope="session")
def debian_image(registry: Registry) -> ImageRef:
    """A Debian bookworm image from debootstrap, pushed into ``registry``.

    Tests that use it should be marked ``@pytest.mark.debian``.
    """
    _require_tools("umoci", "skopeo", "debootstrap")
    return push_layout(debian_layout(), registry.host, "debian", "bookworm")


@pytest.fixture
def state_root(tmp_path: Path) -> Path:
    """A fresh, empty engine state root for one test."""
    root = tmp_path / "root"
    root.mkdir()
    return root
