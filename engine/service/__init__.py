"""The engine facade's parts: each implements a slice of the API's ``EngineBackend``.

:class:`engine.engine.Engine` mixes them together over one state root; each
converts between the engine's own records and the API's typed model.
"""
