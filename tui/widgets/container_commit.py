"""The commit key of the containers pane (a mixin, so ContainersPane stays small).

``c`` asks for ``REPOSITORY[:TAG]`` and then a message, commits the container
under the cursor through the client, and re-lists the images pane so the new
image shows up there.
"""

from __future__ import annotations

from textual import work

from tui.messages import Notice
from tui.widgets.image_archive import split_reference


class ContainerCommitKey:
    """``c`` commit: mixed into ContainersPane (needs ``current``)."""

    def action_commit(self) -> None:
        """Ask for a name and a message, then make an image of the container under the cursor."""
        row = self.current()  # type: ignore[attr-defined]
        if row is None:
            self.notify("No container under the cursor", markup=False, severity="warning")  # type: ignore[attr-defined]
            return
        from tui.dialogs.prompt import PromptDialog  # noqa: PLC0415

        def named(value: str | None) -> None:
            if not value:
                return
            repository, tag = split_reference(value)

            def described(message: str | None) -> None:
                self._commit(row.id, row.name, repository, tag, message or "")

            self.app.push_screen(PromptDialog(f"Commit {row.name} as {repository}:{tag}",  # type: ignore[attr-defined]
                                              "commit message (optional)"), described)

        self.app.push_screen(PromptDialog(f"Commit {row.name}", "new image REPOSITORY[:TAG]",  # type: ignore[attr-defined]
                                          f"{row.name}:latest"), named)

    @work(thread=True, exclusive=True, exit_on_error=False, group="containers-commit", description="commit")
    def _commit(self, container_id: str, name: str, repository: str, tag: str, message: str) -> None:
        image_id = self.app.port.commit(container_id, repository, tag, message)  # type: ignore[attr-defined]
        self.post_message(Notice(f"committed {name} as {repository}:{tag} ({image_id[:19]})"))  # type: ignore[attr-defined]
        self.app.call_from_thread(self._images_changed)

    def _images_changed(self) -> None:
        for pane in self.screen.query("ImagesPane"):  # type: ignore[attr-defined]
            pane.reload()  # type: ignore[attr-defined]
