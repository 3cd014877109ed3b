"""Containers: specs, lifecycle state machine, supervision, over engine.runtime."""
