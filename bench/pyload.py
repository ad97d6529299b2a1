"""The Python load driver: `python -m bench.pyload LOAD.json`, used without wrk.

Each connection is an httpx client looping over random calls until the time
or the request count runs out. It prints one `BENCH_RESULT {json}` line,
the same report as the wrk script. Slower than wrk: it needs more CPU per
request, which it takes from the server on a small machine.
"""

import asyncio
import json
import random
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

_MARK = "BENCH_RESULT "


def percentile(samples: list[float], fraction: float) -> float:
    if not samples:
        return 0.0
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class _Tally:
    def __init__(self, max_responses: int | None) -> None:
        self.latencies: list[float] = []
        self.errors = 0
        self.sent = 0
        self.max_responses = max_responses

    def take(self) -> bool:
        """Count one more request, unless the count is reached."""
        if self.max_responses is not None and self.sent >= self.max_responses:
            return False
        self.sent += 1
        return True


async def _connection(
    base_url: str, calls: list[dict[str, Any]], deadline: float, tally: _Tally
) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=10.0) as client:
        while time.monotonic() < deadline and tally.take():
            call = random.choice(calls)
            started = time.perf_counter()
            try:
                response = await client.request(
                    call["method"],
                    call["path"],
                    headers=call["headers"],
                    content=call["body"] or None,
                )
                failed = response.status_code >= 400
            except httpx.HTTPError:
                failed = True
            tally.latencies.append(time.perf_counter() - started)
            tally.errors += failed


async def run(spec: dict[str, Any]) -> dict[str, int]:
    tally = _Tally(spec.get("max_responses"))
    started = time.monotonic()
    deadline = started + spec["seconds"]
    await asyncio.gather(
        *(
            _connection(spec["base_url"], spec["calls"], deadline, tally)
            for _ in range(spec["connections"])
        )
    )
    return summary(tally.latencies, started, tally.errors)


def summary(latencies: list[float], started: float, errors: int) -> dict[str, int]:
    """A run's result in the shape `bench.load` reads (wrk's, in microseconds)."""
    return {
        "requests": len(latencies),
        "duration_us": int((time.monotonic() - started) * 1e6),
        "p50_us": int(percentile(latencies, 0.50) * 1e6),
        "p99_us": int(percentile(latencies, 0.99) * 1e6),
        "errors": errors,
    }


def main(run: Callable[[dict[str, Any]], Awaitable[dict[str, int]]]) -> None:
    """Run the load the spec file names, and print its result for `bench.load`."""
    spec = json.loads(Path(sys.argv[1]).read_text())
    print(_MARK + json.dumps(asyncio.run(run(spec))), flush=True)


if __name__ == "__main__":
    main(run)
