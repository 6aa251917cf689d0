"""Signal handlers take no lock: ``monitor.processes.lifecycle.Wakeup`` and the daemon's main loop.

A handler runs on the main thread between two bytecodes. ``threading.Event.set`` in a
handler waits for the event's lock, which the main thread may hold at that moment (inside
the same event's ``wait`` or ``clear``): the process then hangs on SIGTERM for good. The
first test shows that hazard is real; the others show the replacement wakes reliably
under a storm of signals, and the daemon stops on SIGTERM in the middle of a SIGHUP storm.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from monitor.processes import Wakeup

from .conftest import PATIENCE, REPO, in_signal_mask
from .test_daemon import CLI
from .test_daemon_stop import _config, crawled_once, stopped_cleanly

pytestmark = pytest.mark.timing  # CI runs it with CPU burners beside it (tests/burners.py)


def _python(code: str, timeout: float) -> subprocess.CompletedProcess[str] | None:
    """Run ``code`` in a fresh interpreter; None if it is still running after ``timeout``."""
    try:
        return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=REPO,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None


def test_event_set_in_a_handler_hangs_when_the_signal_lands_inside_the_event() -> None:
    """Why ``Wakeup`` exists: the signal lands while the main thread holds the event's
    lock, and the handler's ``Event.set`` never returns."""
    hung = _python("""
        import os, signal, threading
        ev = threading.Event()
        signal.signal(signal.SIGUSR1, lambda *_: ev.set())
        with ev._cond:  # what Event.wait and Event.clear do for a few bytecodes
            os.kill(os.getpid(), signal.SIGUSR1)
            for _ in range(3):
                pass
        """, timeout=3)
    assert hung is None
    done = _python("""
        import os, signal
        from monitor.processes.lifecycle import Wakeup
        wake = Wakeup()
        signal.signal(signal.SIGUSR1, lambda *_: wake.set())
        os.kill(os.getpid(), signal.SIGUSR1)
        for _ in range(3):
            pass
        assert wake.wait(5)
        print("woken")
        """, timeout=90)  # the interpreter and its imports: 10 s were not enough at a load of 25
    assert done is not None and done.returncode == 0 and "woken" in done.stdout, done


def test_wakeup_under_a_storm_of_signals_never_hangs_nor_loses_the_last_one() -> None:
    """A main thread that waits and wakes in a loop gets 3,000 signals (one every few
    microseconds: some land while it is inside ``wait``), then the one that ends it: it
    wakes for it and exits at once."""
    code = """
        import os, signal
        from monitor.processes.lifecycle import Wakeup
        wake, seen, last = Wakeup(), [0], []
        def storm(*_):
            seen[0] += 1
            wake.set()
        def final(*_):
            last.append(True)
            wake.set()
        signal.signal(signal.SIGUSR1, storm)
        signal.signal(signal.SIGUSR2, final)
        print(os.getpid(), flush=True)
        while not last:
            wake.wait()
        print("done", seen[0], flush=True)
        """
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], cwd=REPO,
                             stdout=subprocess.PIPE, text=True)
    try:
        pid = int(child.stdout.readline())  # type: ignore[union-attr]
        for sent in range(3000):
            os.kill(pid, signal.SIGUSR1)
            if sent % 3 == 0:
                time.sleep(0.0001)  # Linux merges pending signals: let some through
        os.kill(pid, signal.SIGUSR2)
        try:  # (a busy machine: two test workers, crawls beside; 30 s is still a hang)
            code = child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            stat = Path(f"/proc/{pid}/stat").read_text()
            wchan = Path(f"/proc/{pid}/wchan").read_text()
            status = Path(f"/proc/{pid}/status").read_text()
            pending = [line for line in status.splitlines() if line.startswith(("Sig", "Shd"))]
            raise AssertionError(f"hung: {stat} wchan={wchan} {pending}") from None
        assert code == 0
        done = child.stdout.read().split()  # type: ignore[union-attr]
        assert done[0] == "done" and int(done[1]) >= 100, done  # woken many times
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_wakeup_set_before_wait_and_after_close() -> None:
    wake = Wakeup()
    assert wake.wait(0.01) is False
    wake.set()
    wake.set()
    assert wake.wait(0.01) is True  # a set before the wait is kept, once
    assert wake.wait(0.01) is False
    wake.close()
    wake.set()  # a late signal after close: nothing, no error


def test_daemon_stops_on_sigterm_in_a_storm_of_sighups(tmp_path: Path) -> None:
    """The daemon's main loop is woken by its handlers hundreds of times (SIGHUP: reload)
    and SIGTERM comes in the middle of it: the daemon exits 0 within seconds, no
    traceback, its last heartbeat says stopped."""
    with crawled_once(tmp_path) as (daemon, db, _, log_file):
        for n in range(400):
            daemon.send_signal(signal.SIGHUP)
            if n == 300:
                daemon.send_signal(signal.SIGTERM)
            time.sleep(0.001)
        try:
            code = daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            code = None
    stopped_cleanly(code, db, log_file)
    assert "SIGHUP: reloading" in log_file.read_text()


def _default_sighup() -> None:  # in the child, before exec
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


def test_daemon_start_up_survives_sighup_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    """``newswatch run`` between its first line and its daemon's handlers (imports, the
    config, the database: about a second): SIGHUP (`systemctl reload` right after start)
    used to kill it with the default action; SIGTERM then exits 0, not -15."""
    config, db = tmp_path / "sources.yaml", tmp_path / "early.db"
    _config(config)
    # SIGHUP at its default in the child, whatever this test's own (under `nohup` it is
    # ignored and inherited: the wait below then ended before the CLI set its handlers)
    daemon = subprocess.Popen([*CLI, "run", "--config", str(config), "--db", str(db)],
                              cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True, preexec_fn=_default_sighup)
    try:
        deadline = time.monotonic() + 10 * PATIENCE
        while (not in_signal_mask(daemon.pid, "SigIgn", signal.SIGHUP)
               and time.monotonic() < deadline):
            time.sleep(0.002)
        assert in_signal_mask(daemon.pid, "SigIgn", signal.SIGHUP), "the CLI never started"
        for _ in range(5):
            daemon.send_signal(signal.SIGHUP)
            time.sleep(0.01)
        assert daemon.poll() is None  # SIGHUP did not kill it
        daemon.send_signal(signal.SIGTERM)
        _, errors = daemon.communicate(timeout=30)
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
    assert daemon.returncode == 0, errors
    assert "Traceback" not in errors


def test_serve_stopped_by_sigterm_exits_0_while_it_starts_and_while_it_serves(
        tmp_path: Path) -> None:
    """`newswatch serve` is a service: SIGTERM is a normal stop, exit 0, whether it comes
    during the start-up imports (it was killed, -15) or while it serves."""
    import socket
    import urllib.request

    from monitor.store import Store

    db = tmp_path / "serve.db"
    Store(db).close()
    for serving in (False, True):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        child = subprocess.Popen([*CLI, "serve", "--db", str(db), "--port", str(port)],
                                 cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                 text=True)
        try:
            deadline = time.monotonic() + 30
            while (not in_signal_mask(child.pid, "SigCgt", signal.SIGTERM)
                   and time.monotonic() < deadline):
                time.sleep(0.002)
            while serving and time.monotonic() < deadline:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).close()
                    break
                except OSError:
                    time.sleep(0.1)
            child.send_signal(signal.SIGTERM)
            _, errors = child.communicate(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        assert child.returncode == 0, (serving, errors[-2000:])
        assert "Traceback" not in errors
