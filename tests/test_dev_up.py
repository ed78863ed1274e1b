"""``./dev up`` as a developer meets it: a taken port fails at once and clearly, Ctrl-C
stops every process within seconds, two instances keep their own gunicorn control
socket, and the console is not flooded by Celery's root warning."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _env(tmp_path: Path, port: int) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "DURO_PUBLIC_URL")}
    env.update(PORT=str(port), DURO_DATA_DIR=str(tmp_path / "data"))
    return env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_taken_port_fails_fast_with_a_clear_message_before_any_banner(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        done = subprocess.run([str(ROOT / "dev"), "up"], cwd=ROOT, env=_env(tmp_path, port),
                              capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert time.monotonic() - started < 15
    assert f"127.0.0.1:{port} is taken" in done.stderr and "PORT=" in done.stderr
    assert "Duro is running" not in done.stdout + done.stderr
    assert not (tmp_path / "data" / "duro.sqlite3").exists()


@pytest.mark.worker
def test_ctrl_c_stops_everything_within_seconds(tmp_path):
    port = _free_port()
    env = _env(tmp_path, port)
    process = subprocess.Popen([str(ROOT / "dev"), "up"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "ready." in line:
                break
        output = "".join(lines)
        assert "ready." in output, output[-3000:]
        assert "superuser privileges" not in output
        assert str(tmp_path / "data" / f"gunicorn-{port}.ctl") in output
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C sends the terminal's group
        started = time.monotonic()
        rest, _ = process.communicate(timeout=20)
        assert time.monotonic() - started < 8
        assert "Duro stopped" in rest
        with socket.socket() as probe:  # the port is free again: nothing left listening
            probe.bind(("127.0.0.1", port))
        # Gunicorn's and Celery's command lines name this instance's data folder.
        leftovers = subprocess.run(["pgrep", "-f", str(tmp_path / "data")],
                                   capture_output=True, text=True)
        assert leftovers.stdout.strip() == ""
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
