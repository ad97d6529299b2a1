"""Load drivers: wrk (preferred) or a Python fallback, each in its own process.

A run sends requests drawn at random from a list of `Call`s to one server on
loopback, over a fixed number of keep-alive connections, until its duration
is up or (optionally) a number of responses have come back, and returns a
`RunResult`.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

_RESULT_MARK = "BENCH_RESULT "
_WRK_TIMEOUT = "10s"
_SLACK_SECONDS = 30


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""


@dataclass
class RunResult:
    """`count` requests (or whole purchases) in `seconds`, and their latency."""

    count: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    http_requests: int

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    @property
    def http_rate(self) -> float:
        return self.http_requests / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class Load:
    """What to send: calls, connections, and when to stop."""

    base_url: str
    calls: list[Call]
    connections: int
    seconds: float
    max_responses: int | None = None


def check_loopback(base_url: str) -> None:
    host = urlsplit(base_url).hostname or ""
    if not (host.startswith("127.") or host in ("localhost", "::1")):
        raise ValueError(f"the benchmark only loads servers on loopback, not {host}")


def find_wrk(install: bool) -> str | None:
    """The wrk binary; installed from Debian's packages when missing, if allowed."""
    found = shutil.which("wrk")
    if found or not install or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    print("wrk is missing: installing it with apt-get", flush=True)
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    subprocess.run(["apt-get", "update", "-qq"], check=False, timeout=300, **quiet)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "wrk"], check=False, timeout=300, **quiet
    )
    return shutil.which("wrk")


class Driver:
    """Runs loads with wrk when it is there, else with the Python driver."""

    def __init__(self, wrk: str | None) -> None:
        self.wrk = wrk

    @property
    def name(self) -> str:
        return "wrk -t1" if self.wrk else "python (httpx)"

    def start(self, load: Load) -> "RunningLoad":
        check_loopback(load.base_url)
        if self.wrk:
            return _start_wrk(self.wrk, load)
        return _start_python(load)

    def run(self, load: Load) -> RunResult:
        return self.start(load).result()


class RunningLoad:
    """A load generator process; `result()` waits for it and reads its report."""

    def __init__(self, process: subprocess.Popen[str], temporary: Path, bound: float):
        self._process = process
        self._temporary = temporary
        self._bound = bound

    def result(self) -> RunResult:
        try:
            output, errors = self._process.communicate(timeout=self._bound)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.communicate()
            raise RuntimeError("the load generator overran its time bound") from None
        finally:
            shutil.rmtree(self._temporary, ignore_errors=True)
        for line in output.splitlines():
            if line.startswith(_RESULT_MARK):
                return _parse_result(json.loads(line[len(_RESULT_MARK) :]))
        raise RuntimeError(
            f"the load generator gave no result: {errors.strip()[-500:]}"
        )


def _parse_result(data: dict[str, float]) -> RunResult:
    return RunResult(
        count=int(data.get("purchases", data["requests"])),
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        errors=int(data["errors"]),
        http_requests=int(data["requests"]),
    )


def _lua_string(text: str) -> str:
    # JSON's escapes for printable ASCII (\" and \\) are valid Lua as well.
    if not text.isascii():
        raise ValueError("calls must be ASCII")
    return json.dumps(text)


def _lua_call(call: Call) -> str:
    headers = ", ".join(
        f"[{_lua_string(name)}] = {_lua_string(value)}"
        for name, value in call.headers.items()
    )
    body = _lua_string(call.body) if call.body else "nil"
    method, path = _lua_string(call.method), _lua_string(call.path)
    return f"{{{method}, {path}, {{{headers}}}, {body}}}"


_WRK_SCRIPT = """
local calls = {
%(calls)s
}
local prepared = {}

function init(args)
  math.randomseed(os.time())
  for i, call in ipairs(calls) do
    prepared[i] = wrk.format(call[1], call[2], call[3], call[4])
  end
end

function request()
  return prepared[math.random(#prepared)]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%(mark)s{"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p99_us": %%d, '
    .. '"errors": %%d}\\n',
    summary.requests, summary.duration, latency:percentile(50),
    latency:percentile(99), e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def _start_wrk(wrk: str, load: Load) -> RunningLoad:
    if load.max_responses is not None:
        raise ValueError("wrk stops on time only; count responses with Python")
    temporary = Path(tempfile.mkdtemp(prefix="bench-wrk-"))
    script = temporary / "calls.lua"
    script.write_text(
        _WRK_SCRIPT
        % {
            "calls": ",\n".join(_lua_call(call) for call in load.calls),
            "mark": _RESULT_MARK,
        }
    )
    command = [
        wrk, "-t1", f"-c{load.connections}", f"-d{max(1, round(load.seconds))}s",
        f"--timeout={_WRK_TIMEOUT}", "-s", str(script), load.base_url,
    ]  # fmt: skip
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    return RunningLoad(process, temporary, load.seconds + _SLACK_SECONDS)


def _start_python(load: Load) -> RunningLoad:
    spec = {**asdict(load), "calls": [asdict(call) for call in load.calls]}
    return start_python_module("bench.pyload", spec, load.seconds)


def start_python_module(
    module: str, spec: dict[str, Any], seconds: float
) -> RunningLoad:
    """Run `python -m module SPEC.json` as the load generator."""
    check_loopback(spec["base_url"])
    temporary = Path(tempfile.mkdtemp(prefix="bench-py-"))
    spec_file = temporary / "spec.json"
    spec_file.write_text(json.dumps(spec))
    process = subprocess.Popen(
        [sys.executable, "-m", module, str(spec_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    return RunningLoad(process, temporary, seconds + _SLACK_SECONDS)
