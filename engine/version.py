"""Wharf's version and the Docker Engine API versions it speaks."""

__version__ = "0.1.0"

API_VERSION = "1.50"
"""The newest Docker Engine API version the daemon serves."""

MIN_API_VERSION = "1.24"
"""The oldest Docker Engine API version the daemon accepts."""
