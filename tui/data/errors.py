"""Client errors translated once into the three kinds the console reacts to.

The console does not care which library raised: :mod:`engine.client`'s
``APIError``/``NotFound``/connection error, httpx's transport errors or
an ``OSError`` from a socket. :func:`translate` turns any of them into
:class:`EngineGone` (reconnect), :class:`Missing` (404: say what is not
there) or :class:`EngineRefused` (the engine said no: show its message).
"""

from __future__ import annotations


class PortError(Exception):
    """Base of the console's error tree.

    ::

        PortError
        ├── EngineGone      the engine did not answer (socket missing, refused, timed out)
        ├── EngineRefused   the engine answered with an error (4xx/5xx other than 404)
        │   └── Missing     404: no such object or endpoint
        └── InvalidInput    the user's input could not be turned into a request
    """

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.message = message
        """A sentence ready for a notification."""
        self.status = status
        """The HTTP status, when the engine answered."""


class EngineGone(PortError):
    """The engine did not answer."""


class EngineRefused(PortError):
    """The engine answered with an error."""


class Missing(EngineRefused):
    """The engine answered 404."""


class InvalidInput(PortError):
    """What the user typed cannot be sent."""


def _status_of(exc: BaseException) -> int:
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        return status
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else 0


def _looks_like_connection_error(exc: BaseException) -> bool:
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & {"ConnectionError", "TransportError", "ConnectError", "TimeoutException",
                "ReadTimeout", "RemoteProtocolError", "EngineUnavailable", "EngineUnreachable", "ConnectionRefusedError",
                "FileNotFoundError", "BrokenPipeError", "TimeoutError"}:
        return True
    return isinstance(exc, OSError) and not _status_of(exc)


def translate(exc: BaseException) -> PortError:
    """The console's error for any exception a client call raised."""
    if isinstance(exc, PortError):
        return exc
    status = _status_of(exc)
    explanation = getattr(exc, "explanation", None)
    message = str(explanation or exc) or type(exc).__name__
    if status == 404 or (not status and type(exc).__name__.endswith("NotFound")):
        return Missing(message, 404)
    if status:
        return EngineRefused(message, status)
    if _looks_like_connection_error(exc):
        return EngineGone(message)
    return EngineRefused(message)
