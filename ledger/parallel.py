"""Use the second core: `map_in_order` runs a function over items on two cores, results
in order (one forked helper process takes the second half, by weight, this process the
first); `in_background` runs one job in a forked child while this process goes on.

For work that is mostly CPU (parsing logs) and large enough to pay for a fork. Results
come back pickled through a memory file. If the helper cannot be started, fails or dies, this
process does its half too, so the outcome is always that of `map(fn, items)`; an exception
`fn` raises is raised here, from this process's own call.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence

TYPE_CHECKING = False  # (not from typing: not imported at run time, see store/tuples.py)
if TYPE_CHECKING:
    from typing import Any, TypeVar

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
    waiting: Callable[[], object] | None = None,
) -> Iterator[R]:
    """`map(fn, items)`, the last part (`share` of the weight) computed by a forked helper
    when the items weigh at least `min_weight` in all and there are two cores to use.
    `finish`, if given, runs in the helper on its results before they are sent (to hand
    bulky parts over another way); `waiting`, in this process once its own part is done
    and before it waits for the helper's (work that would otherwise come after)."""
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
        out = _scratch_file()
        done_r, done_w = os.pipe()
    except OSError:
        yield from map(fn, items)
        return
    try:
        pid = os.fork()
    except OSError:
        for fd in (out, done_r, done_w):
            os.close(fd)
        yield from map(fn, items)
        return
    if pid == 0:  # the helper: compute, write, say so, and leave without any cleanup
        status = 1
        try:
            os.close(done_r)
            results = [fn(x) for x in items[split:]]
            data = pickle.dumps(finish(results) if finish else results, pickle.HIGHEST_PROTOCOL)
            view = memoryview(data)
            while view:
                view = view[os.write(out, view) :]
            os.write(done_w, b"\0")
            status = 0
        finally:
            os._exit(status)
    os.close(done_w)
    said = b""
    try:
        for x in items[:split]:
            yield fn(x)
        if waiting is not None:
            waiting()
        # The helper says its results are written (then leaves: tearing down a process as
        # big as this one is its own work, not waited for here; measured ~3-5 ms); a
        # helper that died says nothing (end of file).
        said = os.read(done_r, 1)
        mapped = _mapped(out) if said == b"\0" else None
        if mapped is not None:
            try:
                yield from pickle.loads(mapped)
            finally:
                mapped.close()
        else:  # the helper failed: its half is computed here
            yield from map(fn, items[split:])
    finally:
        os.close(done_r)
        os.close(out)
        if said == b"\0":  # leaving now (reaped here, long done by the time it matters)
            os.waitpid(pid, 0)
        else:  # failed, or not yet done when this generator was closed
            _stop(pid)


def _scratch_file() -> int:
    """A file in memory for the helper's results (not a pipe: the helper writes them all
    and leaves while this process still works, instead of waiting for each 64 KB to be
    read; measured, 2.5 MB: ~10 ms less)."""
    if hasattr(os, "memfd_create"):
        return os.memfd_create("burn-helper", os.MFD_CLOEXEC)
    import tempfile

    return os.dup(tempfile.TemporaryFile().fileno())  # (the file object may go: dup'd)


def _mapped(fd: int) -> Any:
    """The helper's results, mapped rather than read (pickle takes any buffer: one copy
    of megabytes fewer)."""
    import mmap

    size = os.fstat(fd).st_size
    return mmap.mmap(fd, size, prot=mmap.PROT_READ) if size else None


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
