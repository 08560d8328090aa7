"""Hand message ids to the workers in batches, from a thread of this process.

Publishing a Celery task costs the publishing process a message to build and a round trip
to the broker: paid by the request for each SMS, it was a large share of a booking's CPU.
So a committed message's id only goes into this process's queue (no network), and a daemon
thread takes ids from it and publishes one task per batch: when the batch holds `size` ids,
or `delay` seconds after its first id arrived, whichever comes first. A worker then sends
a batch's messages one after the other; at a few milliseconds' worth of bookings a batch is
short, so the last of them waits little longer than it would have for a task of its own.

Nothing is lost that matters: the outbox row is the truth, and `send_pending` (every
minute) hands the workers every message still queued a minute after it was written. So an
id may be dropped, and is, rather than slow or fail a request: when publishing fails (the
broker is down), when the queue is full (it has been down a while), or when the process is
killed. Publishing an id twice does no harm either, since a message is claimed with a
conditional UPDATE before it is sent.

The thread starts on the first id, and again in a process forked from one that had it
(a forked child has only the thread that forked). At interpreter exit the ids still in the
queue are published, for at most `exit_timeout` seconds.
"""

import atexit
import logging
import os
import queue
import threading
import weakref
from collections.abc import Callable

logger = logging.getLogger(__name__)

# Tells the thread to publish what it holds and stop.
_STOP = -1


class Batcher:
    """Collect ids in this process and pass them to `publish` in batches, from a daemon thread."""

    def __init__(
        self,
        publish: Callable[[list[int]], object],
        *,
        name: str,
        size: int = 100,
        delay: float = 0.02,
        capacity: int = 10_000,
        exit_timeout: float = 2.0,
    ) -> None:
        self.name = name
        self.size = size
        self.delay = delay
        self.capacity = capacity
        self.exit_timeout = exit_timeout
        self._publish = publish
        self._pid = 0
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._full = threading.Event()
        self._thread: threading.Thread | None = None
        self._dropped = 0
        _live.add(self)

    def add(self, item: int) -> None:
        """Queue one id for the next batch; never blocks, never raises for want of a broker."""
        if self._pid != os.getpid():
            self._start()
        waiting = self._queue.qsize()
        if waiting >= self.capacity:
            # The thread is stuck on a broker that does not answer; `send_pending` sends these.
            self._dropped += 1
            return
        self._queue.put(item)
        # The thread sleeps through the delay unless a batch is full; it wakes twice a batch
        # rather than once an id.
        if waiting + 1 >= self.size:
            self._full.set()

    def close(self, timeout: float | None = None) -> None:
        """Publish the ids still queued and stop the thread, waiting at most `timeout` seconds."""
        thread = self._thread
        if thread is None or self._pid != os.getpid() or not thread.is_alive():
            return
        self._queue.put(_STOP)
        self._full.set()
        self._pid = 0  # a later id starts a new thread
        thread.join(timeout)

    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            # Ids inherited from the parent are the parent's to publish.
            self._queue = queue.SimpleQueue()
            self._full = threading.Event()
            self._dropped = 0
            self._thread = threading.Thread(
                target=self._run, args=(self._queue, self._full), name=self.name, daemon=True
            )
            self._thread.start()
            self._pid = os.getpid()

    def _after_fork(self) -> None:
        # The parent's threads are gone in the child, and a lock one of them held stays held.
        self._lock = threading.Lock()
        self._pid = 0
        self._thread = None

    def _run(self, ids: "queue.SimpleQueue[int]", full: threading.Event) -> None:
        while True:
            first = ids.get()
            if first == _STOP:
                return
            full.wait(self.delay)
            full.clear()
            batch, stopping = [first], False
            while len(batch) < self.size:
                try:
                    item = ids.get_nowait()
                except queue.Empty:
                    break
                if item == _STOP:
                    stopping = True
                    break
                batch.append(item)
            if ids.qsize() >= self.size:
                full.set()  # the next batch is full already
            self._send(batch)
            if stopping:
                return

    def _send(self, batch: list[int]) -> None:
        dropped, self._dropped = self._dropped, 0
        if dropped:
            logger.warning(
                "%s: %d ids dropped while the queue was full; send_pending sends them",
                self.name,
                dropped,
            )
        try:
            self._publish(batch)
        except Exception:
            logger.exception(
                "%s: a batch of %d ids could not be published; send_pending sends them",
                self.name,
                len(batch),
            )


_live: "weakref.WeakSet[Batcher]" = weakref.WeakSet()


def _reset_after_fork() -> None:
    for batcher in list(_live):
        batcher._after_fork()


@atexit.register
def _flush_at_exit() -> None:
    for batcher in list(_live):
        batcher.close(timeout=batcher.exit_timeout)


os.register_at_fork(after_in_child=_reset_after_fork)
