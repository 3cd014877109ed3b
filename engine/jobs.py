"""The engine's unit of work: every operation is a :class:`Job` with steps and events.

The seed text says Docker's engine runs every piece of work as a Job. Wharf
keeps that visible: a pull, a create, a start are each a Job; each does
named steps, tagged with the part of Docker's architecture they belong to
(:class:`Component`), and publishes progress and step events on the
engine's :class:`EventBus`. The API turns them into Docker's progress
streams and ``/events``; the console's engine view shows them as a journal.

Publishing is thread-safe and never blocks: subscribers each get a bounded
queue, and a subscriber that falls behind loses its oldest events (it is told
how many through :attr:`Subscription.dropped`), never slowing the engine.
"""

from __future__ import annotations

import collections
import enum
import itertools
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


class Component(enum.Enum):
    """The part of Docker's architecture (as the seed text draws it) a step belongs to."""

    ENGINE = "engine"
    REGISTRY = "registry"
    GRAPH_DRIVER = "graph driver"
    NETWORK_DRIVER = "network driver"
    EXEC_DRIVER = "exec driver"
    DAEMON = "daemon"


class JobState(enum.Enum):
    """Where a job is in its life."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class Event:
    """One thing the engine did or saw.

    Attributes:
        kind: ``"job"`` (a job began or ended), ``"step"`` (a named step of a
            job), ``"progress"`` (bytes moved for one item) or ``"object"``
            (Docker's events: container create/start/die, image pull, …).
        action: what happened: ``"begin"``, ``"end"``, a step's name, or
            Docker's action word (``"create"``, ``"start"``, ``"pull"``, …).
        job_id: the job this belongs to, or ``""`` for none.
        component: the part of the architecture that did it.
        subject: what it concerns: an image reference, a container ID, a layer digest.
        detail: free-form data (paths, cgroup files, addresses, byte counts).
        time: seconds since the epoch.
        seq: a number that grows by one with every event the bus publishes.
    """

    kind: str
    action: str
    job_id: str = ""
    component: Component = Component.ENGINE
    subject: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)
    time: float = field(default_factory=time.time)
    seq: int = 0


class Subscription:
    """A bounded queue of events for one subscriber; iterate or call :meth:`get`."""

    def __init__(self, bus: EventBus, maxlen: int) -> None:
        self._bus = bus
        self._events: collections.deque[Event] = collections.deque(maxlen=maxlen)
        self._ready = threading.Condition()
        self._closed = False
        self.dropped = 0
        """How many events were lost because this subscriber fell behind."""

    def _put(self, event: Event) -> None:
        with self._ready:
            if len(self._events) == self._events.maxlen:
                self.dropped += 1
            self._events.append(event)
            self._ready.notify()

    def get(self, timeout: float | None = None) -> Event | None:
        """The next event, waiting up to ``timeout`` seconds; ``None`` on timeout or close."""
        with self._ready:
            if not self._events and not self._closed:
                self._ready.wait(timeout)
            return self._events.popleft() if self._events else None

    def close(self) -> None:
        """Stop receiving events and wake a waiting :meth:`get`."""
        self._bus._unsubscribe(self)
        with self._ready:
            self._closed = True
            self._ready.notify_all()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def __iter__(self) -> Iterator[Event]:
        while not self._closed:
            event = self.get(timeout=0.5)
            if event is not None:
                yield event

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EventBus:
    """Fans events out to subscribers and keeps a short history for late joiners."""

    def __init__(self, history: int = 2048) -> None:
        self._lock = threading.Lock()
        self._subscribers: list[Subscription] = []
        self._listeners: list[Callable[[Event], None]] = []
        self._history: collections.deque[Event] = collections.deque(maxlen=history)
        self._seq = itertools.count(1)

    def publish(self, event: Event) -> Event:
        """Number ``event``, remember it and hand it to every subscriber; returns it numbered."""
        with self._lock:
            numbered = Event(**{**event.__dict__, "seq": next(self._seq)})
            self._history.append(numbered)
            subscribers = list(self._subscribers)
            listeners = list(self._listeners)
        for subscriber in subscribers:
            subscriber._put(numbered)
        for listener in listeners:
            listener(numbered)
        return numbered

    def listen(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        """Call ``callback(event)`` synchronously, in the publishing thread, for every event.

        For cheap hooks only (a listener that blocks slows the engine down);
        returns a function that removes the listener.
        """
        with self._lock:
            self._listeners.append(callback)

        def remove() -> None:
            with self._lock:
                if callback in self._listeners:
                    self._listeners.remove(callback)

        return remove

    def subscribe(self, maxlen: int = 4096, replay: bool = False) -> Subscription:
        """A new subscription; with ``replay`` it first receives the remembered history."""
        subscription = Subscription(self, maxlen)
        with self._lock:
            if replay:
                for event in self._history:
                    subscription._put(event)
            self._subscribers.append(subscription)
        return subscription

    def history(self) -> list[Event]:
        """The remembered events, oldest first."""
        with self._lock:
            return list(self._history)

    def _unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            if subscription in self._subscribers:
                self._subscribers.remove(subscription)


_job_ids = itertools.count(1)


class Job:
    """One operation of the engine, e.g. ``pull busybox:latest`` or ``start web``.

    Use it as a context manager: it publishes ``job/begin`` on entry and
    ``job/end`` (with the state and, on failure, the error) on exit.

    Args:
        bus: where the job's events go.
        name: the operation, e.g. ``"pull"``.
        subject: what it works on, e.g. the image reference.
        component: the part of the architecture that owns the job.
    """

    def __init__(self, bus: EventBus, name: str, subject: str = "",
                 component: Component = Component.ENGINE) -> None:
        self.bus = bus
        self.name = name
        self.subject = subject
        self.component = component
        self.id = f"{name}-{next(_job_ids)}"
        self.state = JobState.RUNNING
        self.error: BaseException | None = None
        self.started = time.time()

    def __enter__(self) -> Job:
        self.bus.publish(Event("job", "begin", self.id, self.component, self.subject,
                               {"name": self.name}))
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        self.state = JobState.FAILED if exc is not None else JobState.SUCCEEDED
        self.error = exc
        detail: dict[str, Any] = {"name": self.name, "state": self.state.value,
                                  "seconds": round(time.time() - self.started, 6)}
        if exc is not None:
            detail["error"] = str(exc)
        self.bus.publish(Event("job", "end", self.id, self.component, self.subject, detail))

    def step(self, action: str, component: Component | None = None, subject: str = "",
             **detail: Any) -> Event:
        """Publish a named step, e.g. ``job.step("overlay mount", GRAPH_DRIVER, lowerdir=…)``."""
        return self.bus.publish(Event("step", action, self.id, component or self.component,
                                      subject or self.subject, detail))

    def progress(self, subject: str, status: str, current: int = 0, total: int = 0,
                 component: Component | None = None) -> Event:
        """Publish progress for one item (a layer): status such as ``"downloading"``."""
        return self.bus.publish(Event("progress", status, self.id, component or self.component,
                                      subject, {"current": current, "total": total}))

    def emit(self, action: str, subject: str, **attributes: Any) -> Event:
        """Publish one of Docker's object events (``create``, ``start``, ``pull``, …)."""
        return self.bus.publish(Event("object", action, self.id, self.component, subject,
                                      attributes))
