"""Wharf's console: a Textual app over engine.client."""
