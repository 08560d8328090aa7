"""The batcher: ids committed close together reach the workers as one task, from a thread."""

import json
import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from vaxnet.notifications.batching import Batcher

ROOT = Path(__file__).resolve().parents[2]


class Published:
    """A publish function that records its batches, or fails as told."""

    def __init__(self, *, failures: int = 0) -> None:
        self.batches: list[list[int]] = []
        self.times: list[float] = []
        self.failures = failures
        self.changed = threading.Condition()

    def __call__(self, ids: list[int]) -> None:
        with self.changed:
            if self.failures:
                self.failures -= 1
                self.changed.notify_all()
                raise ConnectionError("the broker is down")
            self.batches.append(ids)
            self.times.append(time.monotonic())
            self.changed.notify_all()

    def wait(self, batches: int, timeout: float = 5.0) -> list[list[int]]:
        with self.changed:
            self.changed.wait_for(lambda: len(self.batches) >= batches, timeout=timeout)
            return list(self.batches)


@pytest.fixture
def batchers() -> Iterator[list[Batcher]]:
    made: list[Batcher] = []
    yield made
    for batcher in made:
        batcher.close(timeout=5)


def _batcher(made: list[Batcher], publish: Published, **options: float) -> Batcher:
    batcher = Batcher(publish, name="test-batcher", **options)  # type: ignore[arg-type]
    made.append(batcher)
    return batcher


def test_it_publishes_ids_queued_close_together_as_one_batch(batchers: list[Batcher]) -> None:
    published = Published()
    batcher = _batcher(batchers, published, delay=0.3)

    for message_id in (11, 12, 13):
        batcher.add(message_id)
        time.sleep(0.05)

    assert published.wait(1) == [[11, 12, 13]]
    time.sleep(0.3)
    assert published.batches == [[11, 12, 13]]


def test_it_publishes_a_lone_id_once_the_delay_is_over(batchers: list[Batcher]) -> None:
    published = Published()
    batcher = _batcher(batchers, published, delay=0.05)

    queued_at = time.monotonic()
    batcher.add(7)

    assert published.wait(1, timeout=2) == [[7]]
    assert 0.05 <= published.times[0] - queued_at < 1


def test_it_publishes_a_full_batch_without_waiting(batchers: list[Batcher]) -> None:
    published = Published()
    batcher = _batcher(batchers, published, size=3, delay=60)

    for message_id in range(1, 8):
        batcher.add(message_id)

    assert published.wait(2, timeout=2) == [[1, 2, 3], [4, 5, 6]]
    batcher.close(timeout=5)
    assert published.batches == [[1, 2, 3], [4, 5, 6], [7]]


def test_it_logs_a_failed_publication_and_carries_on(
    batchers: list[Batcher], caplog: pytest.LogCaptureFixture
) -> None:
    published = Published(failures=1)
    batcher = _batcher(batchers, published, delay=0.01)

    with caplog.at_level(logging.ERROR, logger="vaxnet.notifications.batching"):
        batcher.add(1)  # does not raise: the thread publishes, and fails
        with published.changed:
            published.changed.wait_for(lambda: published.failures == 0, timeout=2)
        time.sleep(0.05)
        batcher.add(2)
        assert published.wait(1) == [[2]]

    [record] = caplog.records
    assert "could not be published" in record.getMessage()
    assert record.exc_info is not None and isinstance(record.exc_info[1], ConnectionError)


def test_it_drops_ids_rather_than_block_when_the_queue_is_full(
    batchers: list[Batcher], caplog: pytest.LogCaptureFixture
) -> None:
    stuck = threading.Event()
    batches: list[list[int]] = []

    def publish(ids: list[int]) -> None:
        stuck.wait(5)
        batches.append(ids)

    batcher = Batcher(publish, name="test-batcher", size=1, delay=0, capacity=2)
    batchers.append(batcher)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="vaxnet.notifications.batching"):
        for message_id in range(1, 11):
            batcher.add(message_id)
        assert time.monotonic() - started < 0.5
        stuck.set()
        batcher.close(timeout=5)

    assert len(batches) < 10
    assert any("dropped" in record.getMessage() for record in caplog.records)


def test_it_starts_a_thread_of_its_own_in_a_forked_process(batchers: list[Batcher]) -> None:
    read_end, write_end = os.pipe()

    def publish(ids: list[int]) -> None:
        os.write(write_end, (json.dumps([os.getpid(), ids]) + "\n").encode())

    batcher = Batcher(publish, name="test-batcher", delay=0.01)
    batchers.append(batcher)
    batcher.add(1)
    lines = _read_lines(read_end, 1)

    # As if another thread were starting the batcher's thread at the moment of the fork.
    batcher._lock.acquire()
    child = os.fork()
    if child:
        batcher._lock.release()
    else:  # pragma: no cover - the forked child
        code = 1
        try:
            batcher.add(2)
            batcher.close(timeout=5)
            code = 0
        finally:
            os._exit(code)
    lines += _read_lines(read_end, 1)
    if len(lines) < 2:
        os.kill(child, signal.SIGKILL)
    _, status = os.waitpid(child, 0)
    batcher.add(3)
    lines += _read_lines(read_end, 1)
    os.close(read_end)
    os.close(write_end)

    assert os.waitstatus_to_exitcode(status) == 0
    assert lines == [[os.getpid(), [1]], [child, [2]], [os.getpid(), [3]]]


def _read_lines(fd: int, count: int, timeout: float = 5.0) -> list[object]:
    data = b""
    deadline = time.monotonic() + timeout
    while data.count(b"\n") < count:
        ready, _, _ = select.select([fd], [], [], max(deadline - time.monotonic(), 0))
        if not ready:
            break
        data += os.read(fd, 4096)
    return [json.loads(line) for line in data.decode().splitlines()]


def test_it_publishes_what_is_left_when_the_interpreter_exits() -> None:
    program = (
        "from vaxnet.notifications.batching import Batcher\n"
        "batcher = Batcher(lambda ids: print(ids, flush=True), name='exit-test', delay=60)\n"
        "for message_id in (4, 5, 6):\n"
        "    batcher.add(message_id)\n"
    )

    done = subprocess.run(
        [sys.executable, "-c", program],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert done.stdout.splitlines() == ["[4, 5, 6]"]
