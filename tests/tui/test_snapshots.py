"""Snapshots of every pane, view and dialog at 80x24 and 160x48, on the deterministic fake engine.

Regenerate with ``python -m pytest tests/tui/test_snapshots.py --snapshot-update``
after checking the change by eye (``tests/tui/make_screenshots.py`` renders them).
"""

from __future__ import annotations

import pytest
from fake_app import make_app
from support import ready, seed_stats, wait_for
from textual.pilot import Pilot

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]


async def _home(pilot: Pilot) -> None:
    await ready(pilot)
    await seed_stats(pilot)


async def _on_row(pilot: Pilot, name: str) -> None:
    """Put the containers table's cursor on the container called ``name``."""
    pane = pilot.app.screen.query_one("ContainersPane")
    pane.select(next(r.id for r in pane.rows.values() if r.name == name))
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
class TestPanes:
    """The four panes."""

    def test_containers(self, snap_compare, size):
        """Containers with live CPU% and memory (wide: sparklines, ports, PIDs)."""
        assert snap_compare(make_app(), run_before=_home, terminal_size=size)

    def test_containers_marked_and_filtered(self, snap_compare, size):
        """Two rows marked with space, then `/` narrows to nginx containers."""
        assert snap_compare(make_app(), run_before=_home, terminal_size=size,
                            press=["space", "j", "space", "slash", "n", "g", "i", "n", "x", "enter"])

    def test_images(self, snap_compare, size):
        """Images: repository:tag, id, size, created, users."""
        assert snap_compare(make_app(), run_before=_home, terminal_size=size, press=["2"])

    def test_images_sorted_by_size(self, snap_compare, size):
        """`o` cycles the sort column to size; `O` reverses it."""
        assert snap_compare(make_app(), run_before=_home, terminal_size=size, press=["2", "o", "O"])

    def test_repository_catalog_tags_manifest(self, snap_compare, size):
        """A local registry's catalog, a repository's tags and a tag's manifest without pulling."""

        async def browse(pilot: Pilot) -> None:
            await _home(pilot)
            await pilot.press("1")
            await pilot.pause()
            await pilot.press("j")  # localhost:5000
            pane = pilot.app.screen.query_one("RepositoryPane")
            await wait_for(pilot, lambda: pane.query_one("#catalog").option_count > 3)
            await pilot.press("enter")  # into the catalog
            await pilot.press("enter")  # first repository → tags
            await wait_for(pilot, lambda: pane.query_one("#tags").option_count > 0)
            await wait_for(pilot, lambda: pane.manifest is not None)

        assert snap_compare(make_app(), run_before=browse, terminal_size=size)

    def test_repository_pull_progress(self, snap_compare, size):
        """`p` pulls the tag: a bar per layer, overall speed and ETA (stopped half-way)."""

        async def pull(pilot: Pilot) -> None:
            await _home(pilot)
            pilot.app.fake.pull_completes = False
            pilot.app.fake.pull_gate.clear()
            await pilot.press("1", "j")
            pane = pilot.app.screen.query_one("RepositoryPane")
            await wait_for(pilot, lambda: pane.query_one("#catalog").option_count > 3)
            await pilot.press("enter", "enter")
            await wait_for(pilot, lambda: pane.query_one("#tags").option_count > 0)
            await pilot.press("p")
            progress = pane.query_one("PullProgress")
            await wait_for(pilot, lambda: progress.state is not None and len(progress.state.layers) == 3
                           and progress.state.layers["0f9e8d7c6b5a"].current > 12_000_000)

        app = make_app()
        try:
            assert snap_compare(app, run_before=pull, terminal_size=size)
        finally:
            app.fake.pull_gate.set()

    def test_repository_docker_hub(self, snap_compare, size):
        """Docker Hub has no catalog: the pane says so and offers the repository prompt."""

        async def hub(pilot: Pilot) -> None:
            await _home(pilot)
            await pilot.press("1")
            pane = pilot.app.screen.query_one("RepositoryPane")
            await wait_for(pilot, lambda: pane.query_one("#catalog").option_count == 1)

        assert snap_compare(make_app(), run_before=hub, terminal_size=size)

    def test_engine_journal(self, snap_compare, size):
        """The engine's journal: jobs and steps tagged by component."""

        async def journal(pilot: Pilot) -> None:
            await _home(pilot)
            await pilot.press("4")
            view = pilot.app.screen.query_one("EngineView")
            await wait_for(pilot, lambda: len(view.entries) == 12)

        assert snap_compare(make_app(), run_before=journal, terminal_size=size)

    def test_engine_on_dockerd(self, snap_compare, size):
        """A real dockerd (404 for the journal): what is missing, and Docker's events instead."""

        async def dockerd(pilot: Pilot) -> None:
            await _home(pilot)
            await pilot.press("4")
            view = pilot.app.screen.query_one("EngineView")
            await wait_for(pilot, lambda: not view.available and len(view.entries) == 3)

        assert snap_compare(make_app(wharf=False), run_before=dockerd, terminal_size=size)

    def test_engine_gone(self, snap_compare, size):
        """The engine does not answer: banner, header says unreachable, the console keeps running."""

        async def gone(pilot: Pilot) -> None:
            banner = pilot.app.screen.query_one("ConnectionBanner")
            await wait_for(pilot, lambda: banner.attempt >= 1)
            pilot.app.screen.workers.cancel_group(pilot.app.screen, "connect")  # freeze the retry loop
            await pilot.pause(0.3)
            banner.attempt, banner.retry_in = 1, 0.2  # the count depends on timing; the text does not

        assert snap_compare(make_app(gone=True), run_before=gone, terminal_size=size)

    def test_high_contrast(self, snap_compare, size):
        """`T` switches to the high-contrast theme for projectors."""
        assert snap_compare(make_app(), run_before=_home, terminal_size=size, press=["T"])


@pytest.mark.parametrize("size", SIZES)
class TestContainerViews:
    """Views pushed from the containers pane."""

    def test_logs(self, snap_compare, size):
        """`l`: the last 200 lines, following."""

        async def logs(pilot: Pilot) -> None:
            await _home(pilot)
            await pilot.press("l")
            await wait_for(pilot, lambda: len(getattr(pilot.app.screen, "lines", ())) == 120)
            log = pilot.app.screen.query_one("RichLog")
            await wait_for(pilot, lambda: len(log.lines) >= 120 and log.scroll_y == log.max_scroll_y > 0)
            await pilot.pause(0.2)

        assert snap_compare(make_app(), run_before=logs, terminal_size=size)

    def test_logs_search_timestamps_wrap(self, snap_compare, size):
        """`/ERROR` highlights matches; `t` shows timestamps; `w` wraps."""

        async def logs(pilot: Pilot) -> None:
            await _home(pilot)
            await pilot.press("l")
            await wait_for(pilot, lambda: len(getattr(pilot.app.screen, "lines", ())) == 120)
            await pilot.press("t", "w", "slash", *"error", "enter")
            await pilot.pause()

        assert snap_compare(make_app(), run_before=logs, terminal_size=size)

    def test_stats(self, snap_compare, size):
        """Enter: CPU (both conventions), memory, network, block I/O and PIDs over time."""
        assert snap_compare(make_app(), run_before=_home, terminal_size=size, press=["enter"])

    def test_inspect(self, snap_compare, size):
        """`i`: inspect JSON."""

        async def inspect(pilot: Pilot) -> None:
            await _home(pilot)
            await pilot.press("i")
            await wait_for(pilot, lambda: "loading" not in str(pilot.app.screen.query_one("#inspect-json").content))

        assert snap_compare(make_app(), run_before=inspect, terminal_size=size)

    def test_top(self, snap_compare, size):
        """`t`: processes with host PIDs."""

        async def top(pilot: Pilot) -> None:
            await _home(pilot)
            await pilot.press("t")
            await wait_for(pilot, lambda: pilot.app.screen.query_one("SyncTable").row_count == 2)

        assert snap_compare(make_app(), run_before=top, terminal_size=size)

    def test_diff(self, snap_compare, size):
        """`f`: files changed in the upper layer."""

        async def diff(pilot: Pilot) -> None:
            await _home(pilot)
            await pilot.press("f")
            await wait_for(pilot, lambda: pilot.app.screen.query_one("SyncTable").row_count == 4)

        assert snap_compare(make_app(), run_before=diff, terminal_size=size)

    def test_anatomy(self, snap_compare, size):
        """`A`: namespaces, cgroup, overlay dirs, network endpoint, both PIDs."""

        async def anatomy(pilot: Pilot) -> None:
            await _home(pilot)
            await pilot.press("A")
            await wait_for(pilot, lambda: "loading" not in str(pilot.app.screen.query_one("#anatomy").content))

        assert snap_compare(make_app(), run_before=anatomy, terminal_size=size)

    def test_layers(self, snap_compare, size):
        """Images pane, Enter: each layer's size and the history line that made it."""

        async def layers(pilot: Pilot) -> None:
            await _home(pilot)
            await pilot.press("2", "j", "j", "j", "enter")
            await wait_for(pilot, lambda: pilot.app.screen.query_one("SyncTable").row_count == 5)

        assert snap_compare(make_app(), run_before=layers, terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
class TestDialogs:
    """Dialogs and overlays."""

    def test_help(self, snap_compare, size):
        """`?` lists every binding of the current view."""
        assert snap_compare(make_app(), run_before=_home, terminal_size=size, press=["question_mark"])

    def test_command_palette(self, snap_compare, size):
        """`:` opens the command palette."""
        assert snap_compare(make_app(), run_before=_home, terminal_size=size, press=["colon", *"go to"])

    def test_confirm_remove(self, snap_compare, size):
        """`d` asks before removing."""
        assert snap_compare(make_app(), run_before=_home, terminal_size=size, press=["d"])

    def test_run_dialog(self, snap_compare, size):
        """Images pane, `r`: the run dialog, partly filled, with a field error after ctrl+s."""
        assert snap_compare(make_app(), run_before=_home, terminal_size=size,
                            press=["2", "j", "j", "j", "r", *"web2", "tab", "tab", "tab", *"80", "ctrl+s"])

    def test_tag_dialog(self, snap_compare, size):
        """Images pane, `t`: a new name for the image."""
        assert snap_compare(make_app(), run_before=_home, terminal_size=size, press=["2", "j", "t"])

    def test_shell_choice(self, snap_compare, size):
        """`s`: which shell to exec."""
        assert snap_compare(make_app(), run_before=_home, terminal_size=size, press=["s"])

    def test_engine_picker(self, snap_compare, size):
        """`e`: which engine to manage."""
        assert snap_compare(make_app(), run_before=_home, terminal_size=size, press=["e"])

    def test_add_registry(self, snap_compare, size):
        """Repository pane, `a`: add a registry."""
        assert snap_compare(make_app(), run_before=_home, terminal_size=size, press=["1", "a", *"registry.lan:5000"])

    def test_login(self, snap_compare, size):
        """Repository pane, `L`: log in."""
        assert snap_compare(make_app(), run_before=_home, terminal_size=size, press=["1", "L", *"alice", "enter"])
