"""RepositoryPane: registries, their catalog, tags, a tag's manifest without pulling, and pull."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from tui import fmt
from tui.data.errors import translate
from tui.data.pull import PullState
from tui.data.registry import (
    DOCKER_HUB,
    CatalogPage,
    ManifestInfo,
    Registry,
    describe,
    pull_reference,
    repository_name,
)
from tui.messages import Notice
from tui.widgets.lists import KeyList
from tui.widgets.pull_progress import PullProgress
from tui.widgets.worker_errors import ReportsWorkerErrors

PAGE = 30
"""Catalog entries asked for per page."""
MORE = "\x00more"
"""The option ID of the "more…" row."""


def manifest_view(info: ManifestInfo) -> Group:
    """A manifest as text: digest, platforms, config, layers with sizes and media types."""
    head = Table.grid(padding=(0, 1))
    head.add_column(style="bold", no_wrap=True)
    head.add_column(overflow="fold")
    head.add_row("digest", info.digest)
    head.add_row("type", info.media_type)
    if info.platforms:
        head.add_row("platforms", ", ".join(p.label for p in info.platforms))
    head.add_row("created", info.config.created or "–")
    head.add_row("entrypoint", describe(info.config.entrypoint))
    head.add_row("cmd", describe(info.config.cmd))
    head.add_row("env", "\n".join(info.config.env) or "–")
    head.add_row("ports", describe(info.config.exposed_ports))
    head.add_row("config", info.config_digest or "–")
    layers = Table(box=None, padding=(0, 1), show_edge=False, header_style="bold")
    layers.add_column("LAYER", no_wrap=True)
    layers.add_column("SIZE", justify="right", no_wrap=True)
    layers.add_column("MEDIA TYPE", overflow="ellipsis", no_wrap=True)
    for layer in info.layers:
        short = layer.media_type.replace("application/vnd.", "").replace("docker.image.rootfs.diff.", "")
        layers.add_row(layer.digest.removeprefix("sha256:")[:12], fmt.size(layer.size), short)
    total = Text(f"{len(info.layers)} layers, {fmt.size(info.size)} compressed", style="dim")
    return Group(head, Text(""), layers, total)


class RepositoryPane(ReportsWorkerErrors, Horizontal):
    """Registries → repositories → tags → manifest; ``p`` pulls the tag."""

    BINDINGS = [
        Binding("p", "pull", "Pull"),
        Binding("a", "add_registry", "Add registry"),
        Binding("L", "login", "Log in"),
        Binding("x", "remove_registry", "Remove registry", show=False),
        Binding("n", "next_page", "More", show=False),
        Binding("X", "delete_tag", "Delete tag", show=False),
        Binding("slash", "repository", "Repository", key_display="/", show=False),
    ]

    @dataclass
    class Catalog(Message):
        """A catalog page arrived."""

        host: str
        page: CatalogPage
        append: bool

    @dataclass
    class Unlisted(Message):
        """The registry has no catalog (Docker Hub) or refused it."""

        host: str
        reason: str

    @dataclass
    class Tags(Message):
        """A repository's tags."""

        repository: str
        tags: Sequence[str]

    @dataclass
    class Manifest(Message):
        """A tag's manifest."""

        info: ManifestInfo

    @dataclass
    class Pulling(Message):
        """Pull progress (newer replaces queued)."""

        state: PullState

        def can_replace(self, message: Message) -> bool:
            """Only the newest state matters."""
            return isinstance(message, RepositoryPane.Pulling)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.registry: Registry | None = None
        """The registry in focus."""
        self.repository = ""
        """The repository whose tags are listed (full name with host)."""
        self.tag = ""
        """The highlighted tag."""
        self.manifest: ManifestInfo | None = None
        """The manifest shown."""
        self._next_last: str | None = None

    def compose(self):
        """Three columns: registries, repositories, tags with manifest and pull."""
        with Vertical(id="registries-column"):
            yield KeyList(id="registries")
        with Vertical(id="catalog-column"):
            yield Input(placeholder="type a repository ⏎", id="repository-input")
            yield KeyList(id="catalog")
        with Vertical(id="tags-column"):
            yield KeyList(id="tags")
            with VerticalScroll(id="manifest-scroll"):
                yield Static("Pick a registry, a repository and a tag.", id="manifest")
            yield PullProgress(id="pull-progress")

    def on_mount(self) -> None:
        """Titles and the registry list."""
        self.query_one("#registries-column").border_title = "Registries"
        self.query_one("#catalog-column").border_title = "Repositories"
        self.query_one("#tags-column").border_title = "Tags · manifest"
        self._fill_registries()

    def start(self) -> None:
        """Load the first registry's catalog."""
        registries = self.query_one("#registries", OptionList)
        if registries.option_count and registries.highlighted is None:
            registries.highlighted = 0

    def _fill_registries(self) -> None:
        registries = self.query_one("#registries", OptionList)
        highlighted = registries.highlighted
        registries.clear_options()
        registries.add_options([Option(r.label, id=r.host) for r in self.app.registries])
        if highlighted is not None and self.app.registries:
            registries.highlighted = min(highlighted, len(self.app.registries) - 1)

    # -- registry → catalog ----------------------------------------------

    @on(OptionList.OptionHighlighted, "#registries")
    def _registry_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.registry = next((r for r in self.app.registries if r.host == event.option.id), None)
        if self.registry is None:
            return
        self.query_one("#catalog", OptionList).clear_options()
        self.query_one("#catalog-column").border_title = f"Repositories · {self.registry.host}"
        self._load_catalog(self.registry.host, None, False)

    @on(OptionList.OptionSelected, "#registries")
    def _registry_selected(self, event: OptionList.OptionSelected) -> None:
        self.query_one("#catalog", OptionList).focus()

    @work(thread=True, exclusive=True, exit_on_error=False, group="registry-catalog",
          description="registry catalog")
    def _load_catalog(self, host: str, last: str | None, append: bool) -> None:
        try:
            page = self.app.browser.catalog(host, n=PAGE, last=last)
        except Exception as exc:  # noqa: BLE001 - shown in the list
            self.post_message(self.Unlisted(host, translate(exc).message))
            return
        self.post_message(self.Catalog(host, page, append))

    def on_repository_pane_catalog(self, message: Catalog) -> None:
        """Show (or extend) the catalog."""
        message.stop()
        if self.registry is None or message.host != self.registry.host:
            return
        catalog = self.query_one("#catalog", OptionList)
        if message.append and catalog.option_count:
            catalog.remove_option(MORE) if self._has_more(catalog) else None
        else:
            catalog.clear_options()
        catalog.add_options([Option(name, id=name) for name in message.page.repositories])
        if not message.append and catalog.option_count:
            catalog.highlighted = 0
        self._next_last = message.page.next_last
        if self._next_last:
            catalog.add_option(Option(Text("… more (n)", style="dim"), id=MORE))
        count = catalog.option_count - (1 if self._next_last else 0)
        self.query_one("#catalog-column").border_subtitle = f"{count}{'+' if self._next_last else ''}"

    @staticmethod
    def _has_more(catalog: OptionList) -> bool:
        try:
            catalog.get_option(MORE)
        except Exception:  # noqa: BLE001 - OptionDoesNotExist
            return False
        return True

    def on_repository_pane_unlisted(self, message: Unlisted) -> None:
        """Explain why there is no list."""
        message.stop()
        catalog = self.query_one("#catalog", OptionList)
        catalog.clear_options()
        hint = ("Docker Hub has no catalog: type a repository above (e.g. library/alpine) and press Enter"
                if message.host == DOCKER_HUB else f"No catalog: {message.reason}")
        catalog.add_option(Option(Text(hint, style="italic dim"), disabled=True))
        self.query_one("#catalog-column").border_subtitle = ""

    def action_next_page(self) -> None:
        """Load the next catalog page."""
        if self.registry and self._next_last:
            self._load_catalog(self.registry.host, self._next_last, True)

    def action_repository(self) -> None:
        """Type a repository name."""
        self.query_one("#repository-input", Input).focus()

    # -- repository → tags → manifest ------------------------------------

    @on(OptionList.OptionSelected, "#catalog")
    def _repository_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id == MORE:
            self.action_next_page()
        elif event.option.id and self.registry:
            self._open_repository(repository_name(self.registry.host, event.option.id))

    @on(Input.Submitted, "#repository-input")
    def _repository_typed(self, event: Input.Submitted) -> None:
        if event.value.strip() and self.registry:
            self._open_repository(repository_name(self.registry.host, event.value.strip()))

    def _open_repository(self, repository: str) -> None:
        self.repository = repository
        self.query_one("#tags", OptionList).clear_options()
        self.query_one("#tags-column").border_title = f"Tags · {repository}"
        self._load_tags(repository)

    @work(thread=True, exclusive=True, exit_on_error=False, group="registry-tags", description="tags")
    def _load_tags(self, repository: str) -> None:
        self.post_message(self.Tags(repository, tuple(self.app.browser.tags(repository))))

    def on_repository_pane_tags(self, message: Tags) -> None:
        """List the tags and focus them."""
        message.stop()
        tags = self.query_one("#tags", OptionList)
        tags.clear_options()
        tags.add_options([Option(t, id=t) for t in message.tags])
        tags.focus()
        if message.tags:
            tags.highlighted = 0

    @on(OptionList.OptionHighlighted, "#tags")
    def _tag_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.tag = event.option.id or ""
        if self.tag:
            self.query_one("#manifest", Static).update(Text(f"reading {self.repository}:{self.tag} …", style="dim"))
            self._inspect(f"{self.repository}:{self.tag}")

    @work(thread=True, exclusive=True, exit_on_error=False, group="registry-inspect", description="manifest")
    def _inspect(self, reference: str) -> None:
        info = self.app.browser.inspect(reference)
        if not get_current_worker().is_cancelled:
            self.post_message(self.Manifest(info))

    def on_repository_pane_manifest(self, message: Manifest) -> None:
        """Show the manifest if it is still the highlighted tag's."""
        message.stop()
        if message.info.reference == f"{self.repository}:{self.tag}":
            self.manifest = message.info
            self.query_one("#manifest", Static).update(manifest_view(message.info))

    # -- pull -------------------------------------------------------------

    def action_pull(self) -> None:
        """Pull the highlighted tag, with per-layer progress."""
        if not (self.repository and self.tag):
            self.notify("Pick a repository and a tag first", markup=False, severity="warning")
            return
        repository, tag = pull_reference(self.repository, self.tag)
        self._pull(repository, tag)

    @work(thread=True, exclusive=True, exit_on_error=False, group="registry-pull", description="pull")
    def _pull(self, repository: str, tag: str) -> None:
        state = PullState(f"{repository}:{tag}")
        self.post_message(self.Pulling(copy.deepcopy(state)))
        try:
            for event in self.app.port.pull(repository, tag):
                state.feed(event)
                self.post_message(self.Pulling(copy.deepcopy(state)))  # coalesced: newest wins
        finally:
            state.finish()
            self.post_message(self.Pulling(copy.deepcopy(state)))
        if state.error:
            self.post_message(Notice(f"pull {state.reference}: {state.error}", "error"))
        else:
            self.post_message(Notice(f"pulled {state.reference}"))

    def on_repository_pane_pulling(self, message: Pulling) -> None:
        """Draw the progress."""
        message.stop()
        self.query_one(PullProgress).state = message.state
        if message.state.done and not message.state.error:
            for pane in self.screen.query("ImagesPane"):
                pane.reload()  # type: ignore[attr-defined]

    # -- registries -------------------------------------------------------

    def action_add_registry(self) -> None:
        """Add a registry by host:port."""
        from tui.dialogs.prompt import PromptDialog  # noqa: PLC0415

        def added(host: str | None) -> None:
            host = (host or "").strip().removeprefix("https://").removeprefix("http://").rstrip("/")
            if host and all(r.host != host for r in self.app.registries):
                self.app.registries.append(Registry(host, host, "added"))
                self._fill_registries()

        self.app.push_screen(PromptDialog("Add registry", "host:port (e.g. localhost:5000)"), added)

    def action_remove_registry(self) -> None:
        """Remove the highlighted registry from the list (Docker Hub stays)."""
        registry = self.registry
        if registry is None or registry.source == "builtin":
            self.notify("Docker Hub stays in the list", markup=False, severity="warning")
            return
        from tui.dialogs.confirm import ConfirmDialog  # noqa: PLC0415

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.app.registries[:] = [r for r in self.app.registries if r.host != registry.host]
                self._fill_registries()

        self.app.push_screen(ConfirmDialog(f"Remove {registry.host} from the list?",
                                           "Only the list entry goes; nothing on the registry changes.", "remove"),
                             confirmed)

    def action_login(self) -> None:
        """Log the engine in to the highlighted registry."""
        registry = self.registry
        if registry is None:
            return
        from tui.dialogs.login import LoginDialog  # noqa: PLC0415
        self.app.push_screen(LoginDialog(registry.host),
                             lambda creds: self._login(registry.host, *creds) if creds else None)

    @work(thread=True, exclusive=True, exit_on_error=False, group="registry-login", description="log in")
    def _login(self, host: str, username: str, password: str) -> None:
        status = self.app.port.login(host, username, password)
        self.post_message(self.LoggedIn(host, username, status))

    @dataclass
    class LoggedIn(Message):
        """The engine logged in."""

        host: str
        username: str
        status: str

    def on_repository_pane_logged_in(self, message: LoggedIn) -> None:
        """Remember who is logged in where."""
        message.stop()
        self.app.registries[:] = [Registry(r.host, r.title, r.source, message.username) if r.host == message.host
                                  else r for r in self.app.registries]
        self._fill_registries()
        self.notify(f"{message.host}: {message.status}", markup=False)

    def action_delete_tag(self) -> None:
        """Delete the highlighted tag on the registry; asks first."""
        if not (self.repository and self.tag):
            return
        from tui.dialogs.confirm import ConfirmDialog  # noqa: PLC0415
        reference = f"{self.repository}:{self.tag}"
        self.app.push_screen(ConfirmDialog(f"Delete {reference}?", "The tag goes from the registry itself.", "delete"),
                             lambda yes: self._delete_tag(reference) if yes else None)

    @work(thread=True, exclusive=True, exit_on_error=False, group="registry-delete", description="delete tag")
    def _delete_tag(self, reference: str) -> None:
        self.app.browser.delete_tag(reference)
        self.post_message(Notice(f"deleted {reference}"))
        self.app.call_from_thread(self._load_tags, self.repository)
