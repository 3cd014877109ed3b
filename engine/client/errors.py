"""The client's errors, named and shaped as docker-py's, translated once from HTTP.

::

    DockerException
    ├── APIError(status_code, explanation)     any error answer of the engine
    │   ├── NotFound                           404
    │   │   └── ImageNotFound                  404 whose message says "No such image"
    │   └── Conflict                           409
    ├── ContainerError                         ``containers.run`` saw a non-zero exit
    ├── InvalidVersion                         an API version outside what both sides speak
    ├── StreamParseError                       a JSON or frame stream that does not parse
    └── EngineUnreachable                      also engine.errors.EngineUnavailable: no engine answers

``EngineUnreachable`` is also a :class:`engine.errors.WharfError`, so the
console shows it like any engine error.
"""

from __future__ import annotations

from typing import Any

import httpx

from engine.errors import EngineUnavailable


class DockerException(Exception):
    """Base of every error the client raises."""


class APIError(DockerException):
    """The engine answered with an error status.

    Args:
        message: a one-line summary (``"404 Client Error for …: Not Found"``).
        response: the HTTP response, if any.
        explanation: the engine's ``message``.
    """

    def __init__(self, message: str, response: httpx.Response | None = None,
                 explanation: str | None = None) -> None:
        super().__init__(message)
        self.response = response
        self.explanation = explanation

    def __str__(self) -> str:
        message = super().__str__()
        if self.explanation:
            message = f'{message} ("{self.explanation}")'
        return message

    @property
    def status_code(self) -> int | None:
        """The HTTP status of the answer."""
        return self.response.status_code if self.response is not None else None

    def is_client_error(self) -> bool:
        """A 4xx status."""
        return self.status_code is not None and 400 <= self.status_code < 500

    def is_server_error(self) -> bool:
        """A 5xx status."""
        return self.status_code is not None and 500 <= self.status_code < 600


class NotFound(APIError):
    """404: no such object."""


class ImageNotFound(NotFound):
    """404 for an image (the message says ``No such image``)."""


class Conflict(APIError):
    """409: the object's state does not allow it."""


class InvalidVersion(DockerException):
    """An API version the client or the engine cannot use."""


class StreamParseError(DockerException):
    """A stream from the engine that does not parse."""


class ContainerError(DockerException):
    """``containers.run`` saw the container exit with a non-zero status.

    Args:
        container: the container model.
        exit_status: its exit status.
        command: the command that ran.
        image: the image it ran from.
        stderr: what it wrote on stderr.
    """

    def __init__(self, container: Any, exit_status: int, command: Any, image: str,
                 stderr: bytes | None) -> None:
        self.container = container
        self.exit_status = exit_status
        self.command = command
        self.image = image
        self.stderr = stderr
        err = f": {stderr.decode(errors='replace')}" if stderr else ""
        super().__init__(f"Command '{command}' in image '{image}' returned non-zero exit "
                         f"status {exit_status}{err}")


class EngineUnreachable(DockerException, EngineUnavailable):
    """No engine answers at the client's address (refused, missing socket, timeout)."""

    def __init__(self, message: str) -> None:
        EngineUnavailable.__init__(self, message)


def create_api_error(response: httpx.Response) -> APIError:
    """The :class:`APIError` subclass for an error ``response`` (read fully)."""
    explanation = _explanation(response)
    status = response.status_code
    kind = "Client" if status < 500 else "Server"
    message = f"{status} {kind} Error for {response.request.url}: {response.reason_phrase}"
    cls: type[APIError] = APIError
    if status == 404:
        cls = ImageNotFound if explanation and "no such image" in explanation.lower() else NotFound
    elif status == 409:
        cls = Conflict
    return cls(message, response=response, explanation=explanation)


def _explanation(response: httpx.Response) -> str:
    try:
        body = response.read()
    except httpx.HTTPError:
        return ""
    if response.headers.get("content-type", "").startswith("application/json"):
        try:
            value = response.json()
            if isinstance(value, dict) and "message" in value:
                return str(value["message"])
        except ValueError:
            pass
    return body.decode(errors="replace").strip()
