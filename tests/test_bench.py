"""The load benchmark stays runnable: a tiny run must produce its report.

This asserts the shape of the report, never the speed: the figures of a run
this short on a shared machine mean nothing.
"""

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
from sqlalchemy import make_url

from bench.load import RunResult
from bench.report import judge
from bench.run import DatabaseRun
from tests.conftest import ROOT

ISSUE_SCENARIOS = {
    "catalog list",
    "catalog search",
    "product detail",
    "deep page",
    "add to cart",
    "purchase",
    "login, 2 clients",
    "catalog list, during logins",
}
TINY_RUN = [
    "--products", "150", "--users", "12", "--seconds", "1", "--rounds", "1",
    "--connections", "4", "--login-clients", "2", "--shoppers", "2",
    "--memory-requests", "200", "600",
]  # fmt: skip


async def _bench_databases(server_url: str) -> set[str]:
    url = make_url(server_url).set(drivername="postgresql")
    connection = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        rows = await connection.fetch(
            "SELECT datname FROM pg_database WHERE datname LIKE 'bench\\_%'"
        )
    finally:
        await connection.close()
    return {row["datname"] for row in rows}


def _run_bench(
    output: Path, database: str, extra_env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable, "-m", "bench", *TINY_RUN,
            "--databases", database, "--no-install", "--output", str(output),
        ],
        cwd=ROOT,
        env={**os.environ, **extra_env},
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip


def test_a_tiny_run_writes_a_report_with_every_scenario_and_target(
    tmp_path: Path,
) -> None:
    server_url = os.environ.get("TEST_DATABASE_URL")
    database = "postgres" if server_url else "sqlite"
    env = {"BENCH_POSTGRES_URL": server_url} if server_url else {}
    before = asyncio.run(_bench_databases(server_url)) if server_url else set()

    result = _run_bench(tmp_path, database, env)

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (report_file,) = tmp_path.glob("bench-*.json")
    report = json.loads(report_file.read_text())
    (run,) = report["databases"]
    assert run["database"] == ("postgresql" if server_url else "sqlite")
    scenarios = {scenario["name"]: scenario for scenario in run["scenarios"]}
    assert set(scenarios) >= ISSUE_SCENARIOS
    for name in ISSUE_SCENARIOS:
        scenario = scenarios[name]
        assert scenario["rounds"] and scenario["rate"] > 0, name
        assert scenario["ratio_to_ceiling"] is not None, name
        assert {"p50_ms", "p99_ms", "errors"} <= set(scenario), name
    # Catalog runs are measured warm; their warm-ups are reported as well.
    for name in ("catalog list", "catalog search", "deep page", "product detail"):
        assert len(scenarios[name]["cold_rounds"]) == 1, name
        assert scenarios[name]["cold_p99_ms"] > 0, name
    assert "caches cold" in run["cold_note"]
    assert len(run["targets"]) == 6
    assert all(isinstance(target["met"], bool) for target in run["targets"])
    assert run["memory"]["total_requests"] >= 600
    assert "targets" in result.stdout and "report written to" in result.stdout
    if server_url:
        assert asyncio.run(_bench_databases(server_url)) == before


def _run(p50_ms: float, p99_ms: float, requests: int = 1000) -> RunResult:
    return RunResult(requests, 1.0, p50_ms, p99_ms, 0, requests)


def test_only_the_targets_of_the_groups_that_ran_are_judged() -> None:
    run = DatabaseRun("sqlite")
    top, top_detail = (
        run.add("ceiling: catalog list"),
        run.add("ceiling: product detail"),
    )
    top.runs.append(_run(3, 6, 9000))
    top_detail.runs.append(_run(3, 6, 9000))
    run.add("catalog list", top).runs.append(_run(3, 7, 8000))
    run.add("product detail", top_detail).runs.append(_run(6, 20, 4000))
    run.add("deep page", top).runs.append(_run(4, 14, 7000))
    run.add("catalog search", top).runs.append(_run(6, 15, 5000))

    targets = {target.name.split(":")[0]: target for target in judge(run, 16)}

    assert set(targets) == {
        "catalog list",
        "product detail",
        "deep page",
        "catalog search",
    }
    assert targets["product detail"].met is False  # 4000 / 9000 < 0.5
    assert targets["deep page"].met is True  # 4/3 and 14/7, both within 2x
    assert targets["catalog search"].met is False  # p99 15/7 > 2x
