"""The console on the real embedded engine: browse the registry, pull, run, stats, logs, stop, remove."""

from __future__ import annotations

import pytest
from engine_console import build_app, screen_text, wait_for

from tui.dialogs.confirm import ConfirmDialog
from tui.dialogs.run import RunDialog
from tui.screens.logs import LogsScreen
from tui.widgets.containers import ContainersPane
from tui.widgets.images import ImagesPane
from tui.widgets.pull_progress import PullProgress
from tui.widgets.repository import RepositoryPane

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]

SIZE = (160, 45)
NAME = "wh-console-run"
COMMAND = 'sh -c "trap \'exit 0\' TERM; echo wharf-line-1; echo wharf-line-2; sleep 300 & wait"'


@pytest.fixture
def registries(monkeypatch: pytest.MonkeyPatch, registry) -> str:  # noqa: ANN001 - harness.Registry
    """``WHARF_REGISTRIES`` names the test registry, as a user would set it."""
    monkeypatch.setenv("WHARF_REGISTRIES", registry.host)
    return registry.host


def _image_refs(client) -> set[str]:  # noqa: ANN001
    return {tag for image in client.images.list() for tag in image.tags}


def _with_image(engine, reference: str):  # noqa: ANN001, ANN202 - conftest.Embedded, DockerClient
    """The engine's client, with ``reference`` pulled (once per module)."""
    client = engine.client
    if reference not in _image_refs(client):
        client.images.pull(reference)
    return client


async def test_browse_registry_and_pull_busybox(engine, registries, test_images):  # noqa: ANN001
    """Catalog → busybox → tags → manifest (nothing pulled), then ``p`` pulls it into the images pane."""
    busybox = test_images.busybox_oci
    client = engine.client
    for reference in _image_refs(client) & {busybox.reference}:
        client.images.remove(reference, force=True)
    app = build_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1")
        pane = app.screen.query_one(RepositoryPane)
        hosts = [pane.query_one("#registries").get_option_at_index(i).id
                 for i in range(pane.query_one("#registries").option_count)]
        assert hosts == ["docker.io", registries]
        await wait_for(pilot, lambda: "Docker Hub has no catalog" in screen_text(app),
                       what="Docker Hub's hint (its catalog is never asked for)")
        await wait_for(pilot, lambda: app.screen.focused is pane.query_one("#registries"), what="registries focused")
        await pilot.press("down")
        catalog = pane.query_one("#catalog")
        await wait_for(pilot, lambda: pane.registry is not None and pane.registry.host == registries
                       and catalog.option_count > 0, what="catalog listed")
        names = [catalog.get_option_at_index(i).id for i in range(catalog.option_count)]
        assert {"busybox", "busybox-v2s2", "layered"} <= set(names)
        catalog.focus()
        catalog.highlighted = names.index("busybox")
        await pilot.press("enter")
        tags = pane.query_one("#tags")
        await wait_for(pilot, lambda: tags.option_count > 0, what="tags listed")
        assert [tags.get_option_at_index(i).id for i in range(tags.option_count)] == ["latest"]
        await wait_for(pilot, lambda: pane.manifest is not None, what="manifest shown")
        assert pane.manifest.reference == f"{registries}/busybox:latest"
        assert pane.manifest.digest == busybox.digest
        assert pane.manifest.layers and pane.manifest.config_digest.startswith("sha256:")
        text = screen_text(app)
        assert busybox.digest in text.replace("\n", "") or busybox.digest[:40] in text
        assert "LAYER" in text and "layers," in text
        assert busybox.reference not in _image_refs(client), "inspecting must not pull"

        await pilot.press("p")
        progress = pane.query_one(PullProgress)
        await wait_for(pilot, lambda: progress.state is not None and progress.state.done, timeout=60,
                       what="pull finished")
        assert progress.state.error == "", progress.state.error
        assert f"Pulled {busybox.reference}" in screen_text(app)
        assert busybox.reference in _image_refs(client)
        images = app.screen.query_one(ImagesPane)
        await wait_for(pilot, lambda: any(r.reference == busybox.reference for r in images.rows),
                       what="image in the images pane")
        await pilot.press("2")
        await pilot.pause(0.2)
        assert busybox.reference in screen_text(app)
        engine_image = client.images.get(busybox.reference)
        row = next(r for r in images.rows if r.reference == busybox.reference)
        assert row.id == engine_image.id


async def test_run_stats_logs_stop_remove(engine, registries, test_images):  # noqa: ANN001
    """Images pane ``r`` → run dialog → containers pane with live stats → logs → stop → remove."""
    busybox = test_images.busybox_oci
    client = _with_image(engine, busybox.reference)
    app = build_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        images = app.screen.query_one(ImagesPane)
        await wait_for(pilot, lambda: any(r.reference == busybox.reference for r in images.rows), what="images")
        await pilot.press("2")
        await wait_for(pilot, lambda: app.screen.focused is images.table, what="images table focused")
        images.table.move_to(next(images._key(r) for r in images.rows if r.reference == busybox.reference))
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RunDialog), what="run dialog")
        dialog = app.screen
        assert dialog.query_one("#run-image").value == busybox.reference
        assert app.focused is dialog.query_one("#run-name")
        await pilot.press(*NAME, "enter")
        assert app.focused is dialog.query_one("#run-command")
        await pilot.press(*COMMAND)
        assert dialog.query_one("#run-command").value == COMMAND
        dialog.query_one("#run-network").value = "none"
        await pilot.press("ctrl+s")

        containers = app.screen.query_one(ContainersPane)
        await wait_for(pilot, lambda: any(r.name == NAME and r.state == "running" for r in containers.rows.values()),
                       timeout=30, what="container running in the pane")
        row = next(r for r in containers.rows.values() if r.name == NAME)
        real = client.containers.get(NAME)
        assert real.id == row.id and real.status == "running"
        assert real.attrs["Config"]["Cmd"][:2] == ["sh", "-c"]
        assert containers.current() is not None and containers.current().id == row.id

        columns = containers.table.column_keys
        await wait_for(pilot, lambda: containers.feed.history.latest(row.id) is not None
                       and str(containers.table.get_cell(row.id, "cpu")) != "–"
                       and str(containers.table.get_cell(row.id, "mem")) != "–", timeout=15,
                       what="live CPU and memory cells")
        assert "cpu" in columns and "mem" in columns
        assert containers.feed.batched is True  # one /wharf/stats stream, not a request per container
        sample = containers.feed.history.latest(row.id)
        assert sample.mem_usage > 0 and sample.pids >= 1
        line = next(l for l in screen_text(app).splitlines() if NAME in l)
        assert "running" in line and ("MiB" in line or "KiB" in line), line

        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, LogsScreen), what="logs view")
        logs = app.screen
        await wait_for(pilot, lambda: any("wharf-line-2" in l for l in logs.lines), timeout=15, what="log lines")
        await pilot.pause(0.2)
        text = screen_text(app)
        assert "wharf-line-1" in text and "wharf-line-2" in text
        assert b"wharf-line-1" in real.logs()
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, LogsScreen), what="back from logs")

        containers.select(row.id)
        await pilot.press("x")
        await wait_for(pilot, lambda: containers.rows.get(row.id) is not None
                       and containers.rows[row.id].state == "exited", timeout=20, what="stopped")
        real.reload()
        assert real.status == "exited"

        containers.select(row.id)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="confirm dialog")
        assert "Remove 1 container(s)?" in screen_text(app)
        await pilot.press("y")
        await wait_for(pilot, lambda: row.id not in containers.rows, timeout=20, what="removed from the pane")
        assert NAME not in {c.name for c in client.containers.list(all=True)}


async def test_list_follows_engine_events(engine, registries, test_images):  # noqa: ANN001
    """A container made and removed behind the console's back shows up and leaves at once, without polling."""
    busybox = test_images.busybox_oci
    client = _with_image(engine, busybox.reference)
    app = build_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        containers = app.screen.query_one(ContainersPane)
        await wait_for(pilot, lambda: containers.table is not None and containers.is_mounted, what="pane")
        containers.refresh_every = 600.0  # only an event can make it list again
        containers.start()
        await pilot.pause(0.5)
        outsider = client.containers.run(busybox.reference, ["sleep", "300"], detach=True,
                                         network_mode="none", name="wh-console-outsider")
        try:
            await wait_for(pilot, lambda: outsider.id in containers.rows
                           and containers.rows[outsider.id].state == "running", timeout=5,
                           what="the outside container listed from its events")
            outsider.kill()
            await wait_for(pilot, lambda: containers.rows[outsider.id].state == "exited", timeout=5,
                           what="its death listed")
            outsider.remove()
            await wait_for(pilot, lambda: outsider.id not in containers.rows, timeout=5, what="its removal listed")
        finally:
            try:
                outsider.remove(force=True)
            except Exception:  # noqa: BLE001 - already removed by the test
                pass
