"""Use the second core: `map_in_order` runs a function over items on two cores, results
in order (one forked helper process takes the second half, by weight, this process the
first); `in_background` runs one job in a forked child while this process goes on.

For work that is mostly CPU (parsing logs) and large enough to pay for a fork. Results
come back pickled through a pipe. If the helper cannot be started, fails or dies, this
process does its half too, so the outcome is always that of `map(fn, items)`; an exception
`fn` raises is raised here, from this process's own call.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence

TYPE_CHECKING = False  # (not from typing: not imported at run time, see store/tuples.py)
if TYPE_CHECKING:
    from typing import TypeVar

    T = TypeVar("T")
    R = TypeVar("R")


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def map_in_order(
    fn: Callable[[T], R],
    items: Sequence[T],
    weights: Sequence[int],
    min_weight: int,
    finish: Callable[[list[R]], list[R]] | None = None,
    share: float = 0.5,
) -> Iterator[R]:
    """`map(fn, items)`, the last part (`share` of the weight) computed by a forked helper
    when the items weigh at least `min_weight` in all and there are two cores to use.
    `finish`, if given, runs in the helper on its results before they are sent (to hand
    bulky parts over another way)."""
    total = sum(weights)
    if len(items) < 2 or total < min_weight or not hasattr(os, "fork") or cores() < 2:
        yield from map(fn, items)
        return
    split, acc = len(items) - 1, 0
    for i, w in enumerate(weights):
        acc += w
        if acc >= (1 - share) * total:
            split = min(i + 1, len(items) - 1)  # this process keeps the item that crosses half
            break
    import pickle

    try:
        r, w = os.pipe()
        pid = os.fork()
    except OSError:
        yield from map(fn, items)
        return
    if pid == 0:  # the helper: compute, send, and leave without running any cleanup
        status = 1
        try:
            os.close(r)
            results = [fn(x) for x in items[split:]]
            data = pickle.dumps(finish(results) if finish else results, pickle.HIGHEST_PROTOCOL)
            with os.fdopen(w, "wb") as out:
                out.write(data)
            status = 0
        finally:
            os._exit(status)
    os.close(w)
    reaped = False
    try:
        for x in items[:split]:
            yield fn(x)
        with os.fdopen(r, "rb") as f:
            r = -1
            data = f.read()
        _, status = os.waitpid(pid, 0)
        reaped = True
        if status == 0 and data:
            yield from pickle.loads(data)
        else:  # the helper failed: its half is computed here
            yield from map(fn, items[split:])
    finally:
        if r != -1:
            os.close(r)
        if not reaped:
            _stop(pid)


def in_background(job: Callable[[], object]) -> Callable[[], None]:
    """Start `job` in a forked child and return `wait`, which waits for it. If the child
    could not start or did not succeed, `wait` runs `job` here (raising what it raises),
    so `job` must be safe to run twice: it writes files, tmp-then-rename, and returns
    nothing this process needs. With one core, `job` runs at once."""
    if not hasattr(os, "fork") or cores() < 2:
        job()
        return _nothing
    try:
        pid = os.fork()
    except OSError:
        job()
        return _nothing
    if pid == 0:  # the child: the job, and leave without running any cleanup
        status = 1
        try:
            job()
            status = 0
        finally:
            os._exit(status)

    def wait() -> None:
        try:
            _, status = os.waitpid(pid, 0)
        except BaseException:
            _stop(pid)
            raise
        if status != 0:
            job()

    return wait


def _nothing() -> None:
    pass


def _stop(pid: int) -> None:
    import signal

    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass
