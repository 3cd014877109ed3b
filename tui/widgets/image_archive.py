"""Push, save and load keys of the images pane (a mixin, so ImagesPane stays small).

Push streams Docker's progress into a :class:`~tui.widgets.pull_progress.PullProgress`
(one bar per layer, ending with the digest); save and load ask for a host
file path and move Docker's image archive through the client.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from typing import Any

from textual import work
from textual.message import Message

from tui import fmt
from tui.data.models import ImageRow
from tui.data.push import PushState
from tui.messages import Notice
from tui.widgets.pull_progress import PullProgress


def split_reference(reference: str) -> tuple[str, str]:
    """``"localhost:5000/a/b:v1"`` → ``("localhost:5000/a/b", "v1")``; no tag means ``latest``."""
    repository, sep, tag = reference.rpartition(":")
    if sep and "/" not in tag:
        return repository, tag
    return reference, "latest"


def archive_name(row: ImageRow) -> str:
    """A default file name for saving ``row``: ``busybox_1.36.tar`` (or the short ID)."""
    if row.reference.startswith("<none>"):
        return f"{row.short_id.removeprefix('sha256:')}.tar"
    repository, tag = split_reference(row.reference)
    return f"{repository.rsplit('/', 1)[-1]}_{tag}.tar"


@dataclass
class Pushing(Message):
    """Push progress (newer replaces queued)."""

    state: PushState

    def can_replace(self, message: Message) -> bool:
        """Only the newest state matters."""
        return isinstance(message, Pushing)


class ImageArchiveKeys:
    """``p`` push, ``s`` save, ``L`` load: mixed into ImagesPane (needs ``_need`` and ``reload``)."""

    def _tagged(self) -> ImageRow | None:
        row = self._need()  # type: ignore[attr-defined]
        if row is not None and row.reference.startswith("<none>"):
            self.notify("An untagged image cannot be pushed: tag it first (t)",  # type: ignore[attr-defined]
                        markup=False, severity="warning")
            return None
        return row

    def action_push(self) -> None:
        """Push the image under the cursor to the registry its name says."""
        row = self._tagged()
        if row is not None:
            self._push(*split_reference(row.reference))

    @work(thread=True, exclusive=True, exit_on_error=False, group="images-push", description="push")
    def _push(self, repository: str, tag: str) -> None:
        state = PushState(f"{repository}:{tag}")
        post = self.post_message  # type: ignore[attr-defined]
        post(Pushing(copy.deepcopy(state)))
        try:
            for event in self.app.port.push(repository, tag):  # type: ignore[attr-defined]
                state.feed(event)
                post(Pushing(copy.deepcopy(state)))
        finally:
            state.finish()
            post(Pushing(copy.deepcopy(state)))
        if state.error:
            post(Notice(f"push {state.reference}: {state.error}", "error"))
        else:
            post(Notice(f"pushed {state.reference} {state.digest}".rstrip()))

    def on_pushing(self, message: Pushing) -> None:
        """Draw the progress."""
        message.stop()
        self.query_one("#push-progress", PullProgress).state = message.state  # type: ignore[attr-defined]

    def action_save(self) -> None:
        """Ask for a host path and write Docker's archive of the image there."""
        row = self._need()  # type: ignore[attr-defined]
        if row is None:
            return
        from tui.dialogs.prompt import PromptDialog  # noqa: PLC0415

        reference = row.id if row.reference.startswith("<none>") else row.reference

        def chosen(path: str | None) -> None:
            if path:
                self._save(reference, os.path.abspath(os.path.expanduser(path)))

        self.app.push_screen(PromptDialog(f"Save {row.reference} to", "host file path (a tar)",  # type: ignore[attr-defined]
                                          os.path.join(os.getcwd(), archive_name(row))), chosen)

    @work(thread=True, exclusive=True, exit_on_error=False, group="images-archive", description="save image")
    def _save(self, reference: str, path: str) -> None:
        size = self.app.port.save_image(reference, path)  # type: ignore[attr-defined]
        self.post_message(Notice(f"saved {reference} to {path} ({fmt.size(size)})"))  # type: ignore[attr-defined]

    def action_load(self) -> None:
        """Ask for a host path and load the image archive there."""
        from tui.dialogs.prompt import PromptDialog  # noqa: PLC0415

        def chosen(path: str | None) -> None:
            if path:
                self._load(os.path.abspath(os.path.expanduser(path)))

        self.app.push_screen(PromptDialog("Load images from", "host file path (a docker save tar)"),  # type: ignore[attr-defined]
                             chosen)

    @work(thread=True, exclusive=True, exit_on_error=False, group="images-archive", description="load images")
    def _load(self, path: str) -> None:
        loaded: list[Any] = self.app.port.load_images(path)  # type: ignore[attr-defined]
        self.post_message(Notice(f"loaded {', '.join(loaded) or 'nothing'} from {path}"))  # type: ignore[attr-defined]
        self.app.call_from_thread(self.reload)  # type: ignore[attr-defined]
