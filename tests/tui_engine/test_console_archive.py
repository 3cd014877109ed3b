"""The console on the real embedded engine: commit a container, push it, save it to a file, load it back."""

from __future__ import annotations

import json
import subprocess

import pytest
from engine_console import build_app, screen_text, wait_for

from tui.dialogs.prompt import PromptDialog
from tui.widgets.containers import ContainersPane
from tui.widgets.images import ImagesPane

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(150)]

SIZE = (160, 45)
NAME = "wh-console-commit"


async def _prompt(pilot, value: str, what: str) -> None:  # noqa: ANN001
    """Wait for a prompt dialog, put ``value`` in it and accept it."""
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, PromptDialog), what=what)
    app.screen.query_one("#prompt-input").value = value
    await pilot.press("enter")
    await pilot.pause()


async def test_commit_push_save_load(engine, registry, test_images, tmp_path):  # noqa: ANN001
    """``c`` commits an exited container, ``p`` pushes it (skopeo sees the digest), ``s`` saves, ``L`` loads."""
    client = engine.client
    busybox = test_images.busybox_oci
    if busybox.reference not in {t for i in client.images.list() for t in i.tags}:
        client.images.pull(busybox.reference)
    source = client.containers.run(busybox.reference, ["sh", "-c", "echo made-in-wharf > /wharf-commit"],
                                   detach=True, name=NAME, network="none")
    assert source.wait(timeout=30)["StatusCode"] == 0
    reference = f"{registry.host}/wh-console/commit:v1"
    archive = tmp_path / "commit.tar"

    app = build_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        containers = app.screen.query_one(ContainersPane)
        images = app.screen.query_one(ImagesPane)
        await pilot.press("3")
        await wait_for(pilot, lambda: source.id in containers.rows, what="container listed")
        containers.select(source.id)
        await pilot.pause()
        await pilot.press("c")
        await _prompt(pilot, reference, "commit name prompt")
        await _prompt(pilot, "committed from the console", "commit message prompt")
        await wait_for(pilot, lambda: any(r.reference == reference for r in images.rows), timeout=30,
                       what="committed image in the images pane")
        committed = client.images.get(reference)
        assert committed.history()[0]["Comment"] == "committed from the console"
        assert len(committed.attrs["RootFS"]["Layers"]) == len(client.images.get(busybox.reference)
                                                               .attrs["RootFS"]["Layers"]) + 1

        await pilot.press("2")
        await wait_for(pilot, lambda: app.screen.focused is images.table, what="images table focused")
        images.table.move_to(next(images._key(r) for r in images.rows if r.reference == reference))
        await pilot.pause()
        await pilot.press("p")
        progress = images.query_one("#push-progress")
        await wait_for(pilot, lambda: progress.state is not None and progress.state.done, timeout=60,
                       what="push finished")
        state = progress.state
        assert state.error == "", state.error
        assert state.digest.startswith("sha256:")
        assert state.layers and {layer.phase for layer in state.layers.values()} <= {"pushed", "exists"}
        assert any(layer.phase == "pushed" for layer in state.layers.values())
        await pilot.pause(0.2)
        assert f"Pushed {reference}" in screen_text(app)
        inspected = subprocess.run(["skopeo", "inspect", "--tls-verify=false", f"docker://{reference}"],
                                   capture_output=True, text=True, timeout=60, check=True)
        remote = json.loads(inspected.stdout)
        assert remote["Digest"] == state.digest
        assert len(remote["Layers"]) == len(committed.attrs["RootFS"]["Layers"])

        images.table.move_to(next(images._key(r) for r in images.rows if r.reference == reference))
        await pilot.press("s")
        await _prompt(pilot, str(archive), "save path prompt")
        await wait_for(pilot, lambda: any(f"saved {reference} to {archive}" in str(n.message)
                                          for n in app._notifications), timeout=30, what="saved")
        with open(archive, "rb") as handle:
            head = handle.read(1024)
        assert archive.stat().st_size > 10_000 and b"ustar" in head[257:265]
        listing = subprocess.run(["tar", "-tf", str(archive)], capture_output=True, text=True, check=True).stdout
        assert "manifest.json" in listing.split()

        client.images.remove(reference, force=True)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: not any(r.reference == reference for r in images.rows), what="image gone")
        await pilot.press("L")
        await _prompt(pilot, str(archive), "load path prompt")
        await wait_for(pilot, lambda: any(r.reference == reference for r in images.rows), timeout=30,
                       what="loaded image back in the images pane")
        assert client.images.get(reference).id == committed.id
    output = client.containers.run(reference, ["cat", "/wharf-commit"], remove=True, network="none")
    assert output.strip() == b"made-in-wharf"
    client.images.remove(reference, force=True)
