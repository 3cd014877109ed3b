"""The console's data layer: the one place that calls :mod:`engine.client`.

Layout:

- :mod:`tui.data.models` — small frozen dataclasses the widgets render.
- :mod:`tui.data.errors` — client errors translated once into three kinds.
- :mod:`tui.data.port` — :class:`EnginePort`, the thin adapter over a docker-py-shaped client.
- :mod:`tui.data.stats` — CPU/memory arithmetic and :class:`StatsFeed` history.
- :mod:`tui.data.pull` — Docker's pull progress stream folded into per-layer state.
- :mod:`tui.data.registry` — the :class:`RegistryBrowser` protocol for registry browsing.
- :mod:`tui.data.runspec` — the run dialog's text fields parsed into a :class:`RunSpec`.

Nothing here imports Textual.
"""
