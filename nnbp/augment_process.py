"""The epoch's augmented chunks, made in a second process while the steps train.

A worker thread shares the GIL with the steps, whose many short NumPy calls then wait
for it; a process does not (docs/ENGINE.md has the measurements). The process keeps a
copy of the training rows, gathers each chunk the epoch asks for into one of two buffers
the two processes share (a memory-mapped file), and augments it there with the run's
Generator while the steps train on the other buffer. The Generator's state is handed to
the process at the start of an epoch and back at its end, and the process makes the
chunks in order, so the draws, and the results, are those of augmenting in line.

The process is a fresh interpreter (``python -m nnbp.augment_process``) talking over its
standard input and output, so that nothing of the caller's script is run again in it,
as multiprocessing's spawn would. Messages are pickles with an 8-byte length.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import pickle
import signal
import struct
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from nnbp.errors import WorkerError

if TYPE_CHECKING:
    from nnbp.epoch import Augment

_LENGTH = struct.Struct("<Q")


class AugmentProcess:
    """A process that gathers and augments chunks of up to ``chunk_rows`` rows of
    ``x_ones`` (n, n_in + 1) with ``augment``, in the order asked, into ``slots`` (2,
    chunk_rows, n_in + 1), at ``blas_threads`` BLAS threads (the steps' count: a
    product's rounding depends on it). Raises WorkerError when the process cannot take
    ``augment`` (it does not pickle, or names what only this script defines). Close it
    when done (a context manager); it also ends when this process does."""

    def __init__(
        self, x_ones: np.ndarray, augment: Augment, chunk_rows: int, blas_threads: int = 1
    ) -> None:
        self.x_ones, self.augment = x_ones, augment
        shape = (2, chunk_rows, x_ones.shape[1])
        shm = "/dev/shm" if os.path.isdir("/dev/shm") else None  # memory, not disk, on Linux
        with tempfile.NamedTemporaryFile(prefix="nnbp-augment-", dir=shm, delete=False) as f:
            f.truncate(int(np.prod(shape)) * x_ones.itemsize)
            self._path = f.name
            self.slots = np.frombuffer(mmap.mmap(f.fileno(), 0), x_ones.dtype).reshape(shape)
        try:
            setup = pickle.dumps(
                (augment, blas_threads, x_ones.shape, x_ones.dtype.str, self._path, shape)
            )
        except Exception as e:  # a lambda, a closure, an object holding a lock...
            self._remove()
            raise WorkerError(f"the augmentation cannot go to a process: {e}") from None
        # The caller's sys.path first, so the process imports the same nnbp.
        path = os.pathsep.join([str(Path(__file__).parent.parent), *sys.path])
        self._process = subprocess.Popen(
            [sys.executable, "-m", "nnbp.augment_process"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": path},
        )  # fmt: skip
        self._pending = 0  # chunks asked for and not yet received
        try:
            try:
                _write(self._process.stdin, setup)
                self._process.stdin.write(memoryview(np.ascontiguousarray(x_ones)).cast("B"))
                self._process.stdin.flush()
            except OSError:  # it stopped reading: its reply says why
                pass
            self._header()  # "ready" (the buffers mapped), or the process's error
        except BaseException:
            self.close()
            raise
        if os.name == "posix":  # both have it mapped: gone from the file system already
            self._remove()

    @contextlib.contextmanager
    def epoch(self, rng: np.random.Generator) -> Iterator[AugmentProcess]:
        """Within: the process draws from a copy of rng; after: rng has its state."""
        self._send("begin", rng.bit_generator.state)
        try:
            yield self
        finally:
            while self._pending:  # asked for before the epoch ended early: made, unused
                self._header()
            self._send("end", None)
            rng.bit_generator.state = self._header()

    def submit(self, slot: int, rows: np.ndarray) -> None:
        """Ask for the rows ``x_ones[rows]``, augmented, in ``slots[slot]``."""
        self._send("chunk", (slot, rows))
        self._pending += 1

    def receive(self) -> None:
        """Wait for the oldest chunk asked for to be in its slot."""
        self._header()

    def _send(self, kind: str, value: Any) -> None:
        try:
            _write(self._process.stdin, pickle.dumps((kind, value)))
            self._process.stdin.flush()
        except OSError:  # BrokenPipeError: the process is gone
            raise WorkerError("the augmentation process ended unexpectedly") from None

    def _header(self) -> Any:
        """The next message's value; a chunk's failure arrives as its error instead."""
        try:
            kind, value = pickle.loads(_read(self._process.stdout))
        except EOFError:
            raise WorkerError("the augmentation process ended unexpectedly") from None
        if kind in ("chunk", "error") and self._pending:
            self._pending -= 1
        if kind == "error":
            last = value.strip().splitlines()[-1]
            raise WorkerError(f"augmentation failed in its process: {last}", details=value)
        return value

    def _remove(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self._path)

    def close(self) -> None:
        if self._process.poll() is None:
            with contextlib.suppress(OSError):
                self._process.stdin.close()  # end of input: the process returns
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process.stdout.close()
        self._remove()

    def __enter__(self) -> AugmentProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _write(stream: IO[bytes], message: bytes) -> None:
    stream.write(_LENGTH.pack(len(message)))
    stream.write(message)


def _read(stream: IO[bytes]) -> bytes:
    """One length-prefixed message; EOFError when the stream ends first."""
    (n,) = _LENGTH.unpack(_read_into(stream, memoryview(bytearray(_LENGTH.size))))
    return bytes(_read_into(stream, memoryview(bytearray(n))))


def _read_into(stream: IO[bytes], view: memoryview) -> memoryview:
    done = 0
    while done < len(view):
        n = stream.readinto(view[done:])
        if not n:
            raise EOFError
        done += n
    return view


def _serve(inp: IO[bytes], out: IO[bytes]) -> None:
    """The process: the setup and training rows, then requests until its input ends."""
    try:
        augment, blas_threads, shape, dtype, path, slots_shape = pickle.loads(_read(inp))
        with open(path, "r+b") as f:
            slots = np.frombuffer(mmap.mmap(f.fileno(), 0), dtype).reshape(slots_shape)
    except Exception:
        _write(out, pickle.dumps(("error", traceback.format_exc())))
        return
    from threadpoolctl import threadpool_limits

    threadpool_limits(blas_threads, user_api="blas")
    x_ones = np.empty(shape, dtype)
    try:
        _read_into(inp, memoryview(x_ones).cast("B"))
    except EOFError:  # the parent is gone
        return
    rng = np.random.default_rng()
    reply: tuple[str, Any] | None = ("ready", None)
    while True:
        if reply is not None:
            _write(out, pickle.dumps(reply))
            out.flush()
        try:
            kind, value = pickle.loads(_read(inp))
        except EOFError:  # closed, or the parent is gone
            return
        reply = None  # "begin" has none: the chunks follow
        if kind == "begin":
            rng = np.random.Generator(getattr(np.random, value["bit_generator"])())
            rng.bit_generator.state = value
        elif kind == "chunk":
            (slot, rows), c = value, len(value[1])
            try:  # as Epoch.fill does it in line
                x_ones.take(rows, axis=0, out=slots[slot, :c], mode="clip")
                slots[slot, :c, :-1] = augment(slots[slot, :c, :-1], rng)
                reply = ("chunk", slot)
            except Exception:
                reply = ("error", traceback.format_exc())
        else:  # "end"
            reply = ("state", rng.bit_generator.state)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the run through its parent
    channel = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything else printed goes to standard error, not into the channel
    _serve(sys.stdin.buffer, channel)
