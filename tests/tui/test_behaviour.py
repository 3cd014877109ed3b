"""Key bindings and behaviour, driven with Pilot on the deterministic fake engine."""

from __future__ import annotations

import time

import pytest
from fake_app import make_app
from support import ready, seed_stats, wait_for

from tui.dialogs.confirm import ConfirmDialog
from tui.dialogs.run import RunDialog
from tui.screens.help import HelpScreen
from tui.screens.logs import LogsScreen
from tui.widgets.banner import ConnectionBanner
from tui.widgets.containers import ContainersPane
from tui.widgets.header import EngineHeader

pytestmark = pytest.mark.anyio


def _pane(app) -> ContainersPane:
    return app.screen.query_one(ContainersPane)


def _names(pane: ContainersPane) -> list[str]:
    table = pane.table
    return [pane.rows[table.coordinate_to_cell_key((i, 0)).row_key.value].name for i in range(table.row_count)]


async def test_help_lists_every_binding_of_the_view():
    """`?` on the containers pane lists each of its bindings, the app's, and the table's keys."""
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await ready(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        descriptions = {description for _, description, _ in app.screen.rows}
        for binding in ContainersPane.BINDINGS:
            assert binding.description in descriptions, binding
        assert {"Quit", "Help", "Down", "Up"} <= descriptions
        await pilot.press("escape")  # closes help
        assert not isinstance(app.screen, HelpScreen)


async def test_help_in_logs_view_lists_log_keys():
    """The help follows the view: in the logs view it lists search, follow, timestamps and wrap."""
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await ready(pilot)
        await pilot.press("l", "question_mark")
        descriptions = {description for _, description, _ in app.screen.rows}
        assert {"Search", "Next match", "Follow", "Timestamps", "Wrap", "Back"} <= descriptions


async def test_filter_narrows_and_escape_restores():
    """`/nginx` keeps the two nginx containers; Esc clears the filter."""
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        pane = _pane(app)
        await pilot.press("slash", *"nginx")
        assert sorted(_names(pane)) == ["api", "web"]
        await pilot.press("escape")
        assert pane.table.row_count == 6


async def test_marking_and_bulk_stop_calls_the_client_for_each_marked_container():
    """Space marks web and db; `x` stops both, one client call each, and the marks clear."""
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        pane = _pane(app)
        await pilot.press("space", "space")  # web, then db (space moves down)
        assert {pane.rows[i].name for i in pane.marked} == {"web", "db"}
        await pilot.press("x")
        await wait_for(pilot, lambda: len(app.fake.called("container.stop")) == 2)
        assert sorted(c[1] for c in app.fake.called("container.stop")) == ["db", "web"]
        await wait_for(pilot, lambda: not pane.marked)
        await wait_for(pilot, lambda: pane.rows and all(r.state == "exited" for r in pane.rows.values()
                                                         if r.name in ("web", "db")))


async def test_remove_asks_first_and_no_means_no():
    """`d` opens a confirm dialog; `n` removes nothing; `d` `y` kills then removes the running container."""
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")
        await pilot.pause(0.2)
        assert app.fake.called("container.remove") == []
        await pilot.press("d", "y")
        await wait_for(pilot, lambda: app.fake.called("container.remove") == [("container.remove", "web")])
        assert app.fake.called("container.kill") == [("container.kill", "web")]
        await wait_for(pilot, lambda: "web" not in _names(_pane(app)))


async def test_engine_gone_shows_banner_and_reconnects():
    """An unreachable engine: banner and red header; when it answers again, both clear and rows appear."""
    app = make_app(gone=True)
    async with app.run_test(size=(100, 30)) as pilot:
        banner = app.screen.query_one(ConnectionBanner)
        await wait_for(pilot, lambda: banner.has_class("-shown") and banner.attempt >= 1)
        assert "Connection refused" in banner.reason
        assert not app.screen.query_one(EngineHeader).health.ok
        app.fake.gone = False  # the engine comes back
        await wait_for(pilot, lambda: not banner.has_class("-shown"))
        await ready(pilot)
        assert app.screen.query_one(EngineHeader).health.ok


async def test_engine_lost_mid_session_then_back():
    """The engine vanishes while the console runs: the list loop notices, banner, then recovery."""
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        pane = _pane(app)
        pane.refresh_every = 0.1
        pane.start()  # restart the loop with the short interval
        banner = app.screen.query_one(ConnectionBanner)
        app.fake.gone = True
        await wait_for(pilot, lambda: banner.has_class("-shown"))
        assert pane.table.row_count == 6  # what it knew stays on screen
        app.fake.gone = False
        await wait_for(pilot, lambda: not banner.has_class("-shown"))


async def test_run_dialog_starts_the_container_and_shows_it():
    """Images pane, `r`: name and ports → containers.run(detach=True, …), then the new row under the cursor."""
    app = make_app()
    async with app.run_test(size=(100, 34)) as pilot:
        await ready(pilot)
        await pilot.press("2", "j", "j", "j", "r")  # nginx:latest
        assert isinstance(app.screen, RunDialog)
        await pilot.press(*"web2", "tab", "tab", "tab", *"8082:80", "ctrl+s")
        await wait_for(pilot, lambda: app.fake.called("containers.run"))
        _, image, command, kwargs = app.fake.called("containers.run")[0]
        assert image == "nginx:latest" and command is None
        assert kwargs == {"detach": True, "name": "web2", "ports": {"80/tcp": 8082}}
        pane = _pane(app)
        await wait_for(pilot, lambda: pane.current() is not None and pane.current().name == "web2")
        assert app.screen.query_one("TabbedContent").active == "containers"


async def test_run_dialog_rejects_bad_ports():
    """A port without a host side keeps the dialog open with the reason."""
    app = make_app()
    async with app.run_test(size=(100, 34)) as pilot:
        await ready(pilot)
        await pilot.press("2", "r", "tab", "tab", "tab", *"80", "ctrl+s")  # name → command → env → ports
        assert isinstance(app.screen, RunDialog)
        assert "ports" in str(app.screen.query_one("#run-error").content)
        assert not app.fake.called("containers.run")


async def test_two_hundred_containers_update_in_place():
    """206 rows: a stats tick updates cells without adding rows; re-listing adds none either."""
    app = make_app(extra_containers=200)
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        pane = _pane(app)
        assert pane.table.row_count == 206
        added = []
        original = pane.table.add_row
        pane.table.add_row = lambda *a, **k: added.append(k) or original(*a, **k)  # type: ignore[method-assign]
        began = time.perf_counter()
        await seed_stats(pilot, samples=3)
        pane.reload()
        await wait_for(pilot, lambda: len(app.fake.called("containers.list")) >= 2)
        await pilot.pause(0.2)
        assert added == []
        assert time.perf_counter() - began < 3.0
        web = next(r for r in pane.rows.values() if r.name == "web")
        assert pane.table.get_cell(web.id, "cpu") != "–"


async def test_stats_feed_is_one_loop_with_a_budget():
    """The feed samples at most `budget` containers a tick and rotates through the rest."""
    app = make_app(extra_containers=100)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        feed = app.screen.feed
        feed.budget = 20
        running = list(feed.running)
        assert len(running) == 103
        seen: set[str] = set()
        for _ in range(12):
            chosen = feed.choose()
            assert len(chosen) <= 20
            seen.update(chosen)
        assert seen == set(running)


async def test_stats_feed_loop_fans_out_to_the_table():
    """One worker samples each running container once per tick and the table's CPU cells fill in."""
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        feed = app.screen.feed
        feed.interval = 0.1
        feed._loop()
        pane = _pane(app)
        web = next(r for r in pane.rows.values() if r.name == "web")
        await wait_for(pilot, lambda: pane.table.get_cell(web.id, "cpu") not in ("–", ""))
        assert len([w for w in app.workers if w.group == "stats" and w.is_running]) == 1
        running = {r.id for r in pane.rows.values() if r.state == "running"}
        asked = {call[1] for call in app.fake.called("api.stats")}
        assert asked == running  # paused, exited and created containers are not sampled


async def test_logs_search_counts_matches_and_toggles():
    """`/error` finds the ERROR lines; `t` and `w` flip timestamps and wrap."""
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await pilot.press("l")
        screen = app.screen
        assert isinstance(screen, LogsScreen)
        await wait_for(pilot, lambda: len(screen.lines) == 120)
        assert app.fake.called("container.logs") == [("container.logs", "web", 200)]
        await pilot.press("slash", *"error", "enter")
        assert len(screen._matches()) == 7
        await pilot.press("t", "w")
        assert screen.timestamps and screen.wrap
        await pilot.press("escape")
        assert not isinstance(app.screen, LogsScreen)


async def test_digits_switch_panes_and_colon_opens_the_palette():
    """1–4 switch panes; `:` opens the command palette."""
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        tabs = app.screen.query_one("TabbedContent")
        for key, pane in (("1", "repository"), ("2", "images"), ("4", "engine"), ("3", "containers")):
            await pilot.press(key)
            assert tabs.active == pane
        await pilot.press("colon")
        await pilot.pause()
        assert type(app.screen).__name__ == "CommandPalette"


async def test_engine_picker_switches_to_a_dockerd_and_says_what_is_missing():
    """`e` → the docker target: the header says Docker Engine and the engine view explains the 404."""
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await ready(pilot)
        await pilot.press("e", "j", "enter")
        await ready(pilot)
        header = app.screen.query_one(EngineHeader)
        await wait_for(pilot, lambda: header.info is not None and not header.info.is_wharf)
        assert header.info.product.startswith("Docker Engine")
        await pilot.press("4")
        view = app.screen.query_one("EngineView")
        await wait_for(pilot, lambda: not view.available)
        assert app.screen.query_one("#journal-notice").display


async def test_mouse_toggle_and_high_contrast():
    """`M` gives the mouse to the terminal and back; `T` switches the theme."""
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await pilot.press("M")
        assert app.mouse_enabled is False
        await pilot.press("M")
        assert app.mouse_enabled is True
        await pilot.press("T")
        assert app.theme == "wharf-high-contrast"


async def test_repository_pull_feeds_progress_and_refreshes_images():
    """Pulling a tag calls api.pull(repo, tag) and ends with every layer complete."""
    app = make_app()
    async with app.run_test(size=(120, 34)) as pilot:
        await ready(pilot)
        await pilot.press("1", "j")
        pane = app.screen.query_one("RepositoryPane")
        await wait_for(pilot, lambda: pane.query_one("#catalog").option_count > 3)
        await pilot.press("enter", "enter")
        await wait_for(pilot, lambda: pane.query_one("#tags").option_count == 3)
        await pilot.press("p")
        progress = pane.query_one("PullProgress")
        await wait_for(pilot, lambda: progress.state is not None and progress.state.done)
        assert app.fake.called("api.pull") == [("api.pull", "localhost:5000/alpine", "3.19")]
        assert {layer.phase for layer in progress.state.layers.values()} == {"complete", "exists"}
        assert progress.state.fraction == 1.0
