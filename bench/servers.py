"""The servers under load: uvicorn, one worker process each, on loopback."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx

ROOT = Path(__file__).resolve().parent.parent
_START_SECONDS = 60
_STOP_SECONDS = 15


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`uvicorn APP` in its own process; its log goes to `log_path`."""

    def __init__(
        self,
        name: str,
        app: str,
        env: dict[str, str],
        log_path: Path,
        ready_path: str = "/healthz",
        uvicorn_args: tuple[str, ...] = (),
    ) -> None:
        self.name = name
        self._ready_url = f"http://127.0.0.1:{{port}}{ready_path}"
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._ready_url = self._ready_url.format(port=self.port)
        self._log: IO[bytes] = log_path.open("wb")
        self._process = subprocess.Popen(
            [
                sys.executable, "-m", "uvicorn", app,
                "--host", "127.0.0.1", "--port", str(self.port),
                "--no-access-log", "--log-level", "warning", *uvicorn_args,
            ],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip

    @property
    def pid(self) -> int:
        return self._process.pid

    def wait_ready(self) -> None:
        deadline = time.monotonic() + _START_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see its log")
            try:
                if httpx.get(self._ready_url, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not start within {_START_SECONDS}s")

    def resident_kib(self) -> int:
        """VmRSS of the worker process, from /proc."""
        status = Path(f"/proc/{self.pid}/status").read_text()
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS in /proc status")

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=_STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._log.close()
