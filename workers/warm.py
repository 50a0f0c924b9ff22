"""The warm engine: one long-lived evaluating process per evaluation worker, supervised by it.

The child is forked once from the warmed worker and keeps its durable_rules Host and compiled versions across
drains (retired versions are deleted from it, and it is replaced once it grew RECYCLE_GROWTH_MB), so an event
costs no fork, no Host and no compile. A crash of the C engine (even SIGSEGV) kills only the child: the worker
releases the child's leases at once, recording why, and forks a new one; the events of that batch are then
retried alone until they pass or are marked failed, as before.
"""
from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import socket
import traceback
from multiprocessing.connection import Connection, wait
from pathlib import Path

from engine.core.config import load_settings
from engine.core.db import session_factory
from engine.evaluation import pipeline
from engine.evaluation.pipeline import DrainResult
from workers.queues import enqueue_delivery

log = logging.getLogger(__name__)
PR_SET_PDEATHSIG, PR_SET_NAME = 1, 15
PROCESS_NAME = b"cr-evaluator"  # what ps and /proc/<pid>/comm show
#: The evaluating process is replaced between drains once its resident set grew this much past its warm start:
#: its Host drops retired versions, and this bound keeps memory flat whatever else a long life accumulates.
RECYCLE_GROWTH_MB = 256


def describe_exit(exitcode: int | None) -> str:
    """Why the evaluating process ended, from multiprocessing's exit code (minus the signal number if killed)."""
    if exitcode is not None and exitcode < 0:
        number = -exitcode
        try:
            return f"evaluating process died by signal {number} ({signal.Signals(number).name})"
        except ValueError:
            return f"evaluating process died by signal {number}"
    return f"evaluating process exited unexpectedly (status {exitcode})"


def _die_with_parent() -> None:
    """A worker killed by SIGKILL takes its evaluating process along, and `ps` names it (Linux); elsewhere it
    stops at its next drain."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        libc.prctl(PR_SET_NAME, PROCESS_NAME)
    except (OSError, AttributeError):
        pass


def _serve(requests: Connection, parent_end: Connection, parent: int) -> None:
    """The child's loop: one drain per request, with the Host kept between them; ends when the worker does."""
    parent_end.close()
    _die_with_parent()
    for number in (signal.SIGINT, signal.SIGTERM):  # the worker decides: a warm stop lets the batch finish
        signal.signal(number, signal.SIG_IGN)
    settings = load_settings()
    factory = session_factory(settings.database_url)
    try:
        with factory() as session:
            pipeline.warm_engine(session)
    except Exception:  # the database may be restarting: the first drain registers what it needs
        log.warning("warming the evaluating process failed", exc_info=True)
    baseline = resident_mb()
    while os.getppid() == parent:
        try:
            budget = requests.recv()
        except (EOFError, OSError):
            return
        if budget is None:
            return
        limits = settings.pipeline
        try:
            result = pipeline.drain(factory, limits.batch_size, limits.lease_seconds, limits.max_attempts,
                                    time_budget=budget, heartbeat_seconds=limits.heartbeat_seconds,
                                    gather_seconds=limits.gather_seconds,
                                    after_batch=lambda: enqueue_delivery(settings))
        except Exception:  # the database restarting: the job fails and RQ retries it, this process stays warm
            requests.send((None, False, traceback.format_exc(limit=5)))
            continue
        retire = resident_mb() - baseline > RECYCLE_GROWTH_MB
        requests.send((result, retire, None))
        if retire:
            return


def resident_mb() -> float:
    """This process's resident set in MB (0 where /proc is missing: then it is never recycled)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class DrainFailed(RuntimeError):
    """A drain raised in the evaluating process (its traceback is the message); the process lives on."""


class WarmEngine:
    """The worker's handle on its evaluating process: hands it drains and replaces it when it dies."""

    def __init__(self) -> None:
        self._context = multiprocessing.get_context("fork")
        self.process: multiprocessing.process.BaseProcess | None = None
        self._requests: Connection | None = None
        self.restarts = 0
        self.recycles = 0

    def start(self) -> None:
        if self._requests is not None:
            self._requests.close()
        ours, theirs = self._context.Pipe()
        self.process = self._context.Process(target=_serve, args=(theirs, ours, os.getpid()),
                                             name="civicrules-evaluator", daemon=True)
        self.process.start()
        theirs.close()
        self._requests = ours

    def alive(self) -> bool:
        return self.process is not None and self.process.is_alive()

    def drain(self, time_budget: float = 30.0) -> DrainResult:
        """One drain in the evaluating process; if it dies meanwhile, its leases are released with the reason and
        a new process is started: the crashed batch costs one attempt of its events, nothing more."""
        if not self.alive():
            self._replace()
        try:
            self._requests.send(time_budget)
            ready = wait([self._requests, self.process.sentinel])
            if self._requests in ready and self._requests.poll():
                result, retire, error = self._requests.recv()
                if error is not None:
                    raise DrainFailed(error)
                if retire:  # grown past its bound: a fresh process from the warm parent, between drains
                    self.process.join(timeout=30)
                    self.recycles += 1
                    log.info("evaluating process %s recycled after growing past %s MB", self.process.pid,
                             RECYCLE_GROWTH_MB)
                    self.start()
                return result
        except (EOFError, OSError):
            pass
        except DrainFailed:
            raise
        except BaseException:  # a job timeout or a cold stop: the batch is abandoned, its events free at once
            self.stop(kill=True)
            raise
        return DrainResult(retried=self._replace())

    def _replace(self) -> int:
        """Release a dead process's leases, recording why, and start a new one; return how many were released."""
        dead, released = self.process, 0
        self.start()
        if dead is not None:
            dead.join(timeout=10)
            reason = describe_exit(dead.exitcode)
            self.restarts += 1
            released = self._release(dead.pid, reason)  # the database down: the leases expire on their own
            log.warning("evaluating process %s ended (%s); released %s leased events", dead.pid, reason, released)
        return released

    @staticmethod
    def _release(pid: int, reason: str) -> int:
        prefix = f"{socket.gethostname()}/{pid}/"
        with session_factory(load_settings().database_url)() as session:
            return pipeline.release(session, prefix, reason)

    def stop(self, kill: bool = False) -> None:
        """End the evaluating process: after its drain when asked politely, at once with `kill`."""
        if self.process is None:
            return
        if not kill and self.process.is_alive():
            try:
                self._requests.send(None)
            except OSError:
                pass
            self.process.join(timeout=30)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=10)
            self._release(self.process.pid, describe_exit(self.process.exitcode))
        self._requests.close()
        self._requests = None
        self.process = None


_current: WarmEngine | None = None


def current() -> WarmEngine | None:
    """The evaluating process of this worker, when it runs one (the evaluation group); None elsewhere."""
    return _current


def install(engine: WarmEngine | None) -> None:
    global _current
    _current = engine
