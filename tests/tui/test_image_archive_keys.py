"""Push, save, load (images pane) and commit (containers pane), driven with Pilot on the fake engine."""

from __future__ import annotations

import pytest
from fake_app import make_app
from fake_engine import ARCHIVE_MAGIC, _hex
from support import ready, wait_for

from tui.data.push import PushState
from tui.dialogs.prompt import PromptDialog
from tui.screens.help import HelpScreen
from tui.widgets.banner import ConnectionBanner
from tui.widgets.containers import ContainersPane
from tui.widgets.image_archive import archive_name, split_reference
from tui.widgets.images import ImagesPane

pytestmark = pytest.mark.anyio

BUSYBOX = "localhost:5000/tools/busybox:1.36"


def _images(app) -> ImagesPane:
    return app.screen.query_one(ImagesPane)


async def _on_busybox(pilot) -> ImagesPane:
    await pilot.press("2", "j")  # alpine:3.20, then localhost:5000/tools/busybox:1.36
    pane = _images(pilot.app)
    assert pane.current().reference == BUSYBOX
    return pane


def test_split_reference_and_archive_name():
    """A registry port is not a tag; no tag means latest; the file name drops the registry path."""
    assert split_reference("localhost:5000/tools/busybox:1.36") == ("localhost:5000/tools/busybox", "1.36")
    assert split_reference("localhost:5000/tools/busybox") == ("localhost:5000/tools/busybox", "latest")
    assert split_reference("alpine") == ("alpine", "latest")
    pane_row = type("Row", (), {"reference": BUSYBOX, "short_id": "sha256:abc"})()
    assert archive_name(pane_row) == "busybox_1.36.tar"


def test_push_state_ends_with_the_digest_and_counts_mounts_as_present():
    """Preparing → Pushing → Pushed; a cross-repository mount is a layer already there."""
    state = PushState("r:1")
    for event in ({"status": "Preparing", "id": "aa"}, {"status": "Preparing", "id": "bb"},
                  {"status": "Mounted from other/repo", "id": "bb"},
                  {"status": "Pushing", "id": "aa", "progressDetail": {"current": 50, "total": 200}}):
        state.feed(event)
    assert state.layers["aa"].phase == "pushing" and state.layers["aa"].fraction == 0.25
    assert state.layers["bb"].phase == "exists"
    assert state.downloaded == 50 and state.total == 200
    state.feed({"status": "Pushed", "id": "aa"})
    state.feed({"status": "1: digest: sha256:" + "f" * 64 + " size: 525"})
    state.finish()
    assert state.fraction == 1.0 and state.digest == "sha256:" + "f" * 64 and not state.error


async def test_help_lists_push_save_load_and_commit():
    """`?` lists the new keys in both panes."""
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await ready(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert ("c", "Commit", "Containers") in app.screen.rows
        await pilot.press("escape", "2", "question_mark")
        rows = {(key, description) for key, description, _ in app.screen.rows}
        assert {("p", "Push"), ("s", "Save to file"), ("L", "Load from file")} <= rows


async def test_push_shows_per_layer_progress_and_the_digest():
    """`p` pushes repository and tag apart; every layer ends pushed or present, the digest is shown."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        pane = await _on_busybox(pilot)
        await pilot.press("p")
        progress = pane.query_one("#push-progress")
        await wait_for(pilot, lambda: progress.state is not None and progress.state.done)
        assert app.fake.called("images.push") == [("images.push", "localhost:5000/tools/busybox", "1.36")]
        state = progress.state
        assert {layer.phase for layer in state.layers.values()} == {"pushed", "exists"}
        assert state.fraction == 1.0 and state.digest == "sha256:" + _hex("push-localhost:5000/tools/busybox")
        await pilot.pause()
        text = "\n".join(strip.text for strip in app.screen._compositor.render_strips())
        assert f"Pushed {BUSYBOX}" in text and "a1b2c3d4e5f6" in text and "pushed" in text


async def test_push_failure_is_shown_and_untagged_images_are_refused():
    """A registry's denial ends the progress as failed; `<none>` rows are not pushed at all."""
    app = make_app()
    app.fake.push_fails = True
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        pane = await _on_busybox(pilot)
        await pilot.press("p")
        progress = pane.query_one("#push-progress")
        await wait_for(pilot, lambda: progress.state is not None and progress.state.done)
        assert "denied" in progress.state.error and progress.state.digest == ""
        await pilot.press("G")  # the last row: <none>:<none>
        await pilot.pause()
        assert pane.current().reference.startswith("<none>")
        await pilot.press("p")
        await pilot.pause()
        assert len(app.fake.called("images.push")) == 1


async def test_save_writes_the_archive_and_load_reads_it_back(tmp_path):
    """`s` prompts for a path (defaulting to a file name from the tag), writes the client's chunks; `L` loads."""
    app = make_app()
    target = tmp_path / "bb.tar"
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        pane = await _on_busybox(pilot)
        await pilot.press("s")
        assert isinstance(app.screen, PromptDialog)
        field = app.screen.query_one("#prompt-input")
        assert field.value.endswith("/busybox_1.36.tar")
        field.value = str(target)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.fake.called("image.save") and target.exists()
                       and target.stat().st_size > len(ARCHIVE_MAGIC))
        assert app.fake.called("image.save")[0][2] == BUSYBOX  # named: the tag is kept
        assert target.read_bytes().startswith(ARCHIVE_MAGIC)

        await pilot.press("L")
        assert isinstance(app.screen, PromptDialog)
        await pilot.press(*str(target), "enter")
        await wait_for(pilot, lambda: any(r.reference == f"loaded/{BUSYBOX}" for r in pane.rows))
        assert app.fake.called("images.load") == [("images.load", target.stat().st_size)]


async def test_load_of_a_missing_file_says_why(tmp_path):
    """A path that is not there is reported as such (not as a lost engine); nothing reaches the engine."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pilot.press("2", "L", *str(tmp_path / "nope.tar"), "enter")
        await wait_for(pilot, lambda: any("No such file" in str(n.message) for n in app._notifications))
        assert any("nope.tar" in str(n.message) for n in app._notifications)
        assert not app.fake.called("images.load")
        assert not app.screen.query_one(ConnectionBanner).has_class("-shown")


async def test_commit_prompts_name_and_message_and_the_image_appears():
    """`c` on a container: REPOSITORY[:TAG], then a message → Container.commit; the images pane lists it."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        containers = app.screen.query_one(ContainersPane)
        web = _hex("container-web")
        containers.select(web)
        await pilot.pause()
        await pilot.press("c")
        assert isinstance(app.screen, PromptDialog)
        assert app.screen.query_one("#prompt-input").value == "web:latest"
        app.screen.query_one("#prompt-input").value = "snap/web:v2"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, PromptDialog)
        await pilot.press(*"tuned", "enter")
        await wait_for(pilot, lambda: any(r.reference == "snap/web:v2" for r in _images(app).rows))
        assert app.fake.called("container.commit") == [
            ("container.commit", web, "snap/web", "v2", {"message": "tuned"})]
