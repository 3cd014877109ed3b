"""Wharf's console: a Textual app over :mod:`engine.client`.

General layout (attributes down, messages up):

- :mod:`tui.launch` — ``run_console(root, host)``: builds clients, the app, restores the terminal.
- :mod:`tui.app` — :class:`~tui.app.WharfApp`, thin: global keys, themes, engine switching.
- :mod:`tui.screens` — ``main`` (header, banner, four panes, footer; wires siblings together)
  and the views pushed over it: logs, stats, inspect, top/diff, layers, anatomy, help.
- :mod:`tui.widgets` — the panes (repository, images, containers, engine journal), the one
  :class:`~tui.widgets.stats_feed.StatsFeed`, tables updated in place, pull progress.
- :mod:`tui.dialogs` — confirm, run, prompt, log in, shell choice, engine picker.
- :mod:`tui.data` — the ONLY code that calls the client (:class:`~tui.data.port.EnginePort`),
  frozen dataclasses, stats arithmetic, pull progress, run specs, the ``RegistryBrowser`` seam.
- :mod:`tui.terminal` — the raw-terminal relay for shell and attach (``app.suspend()``).
- :mod:`tui.serve` — ``serve_console(port)``: the console in a browser on loopback.

Every client call runs in a thread worker and reports back by message; a
worker that finds the engine gone posts :class:`~tui.messages.EngineLost`, and
the main screen shows a banner and reconnects with backoff.
"""
