"""The targets of the issue, judged on one run, and the report: a table and JSON."""

import json
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.run import DatabaseRun, Scenario

MIN_CEILING_RATIO = 0.5
MAX_LATENCY_FACTOR = 2.0
MAX_P99_FACTOR_DURING_LOGINS = 3.0
MAX_MEMORY_GROWTH = 0.10


@dataclass(frozen=True)
class Target:
    name: str
    met: bool
    measured: str


def _factor(top: Scenario, bottom: Scenario, pick: str) -> float:
    """Median over rounds of top's latency over bottom's (run by run)."""
    pairs = zip(top.runs, bottom.runs, strict=False)
    return statistics.median(
        getattr(a, pick) / getattr(b, pick) for a, b in pairs if getattr(b, pick)
    )


def _ceiling_target(run: DatabaseRun, name: str) -> Target:
    scenario = run.scenarios[name]
    ratio = scenario.ratio() or 0.0
    return Target(
        f"{name}: at least {MIN_CEILING_RATIO} of the ceiling, no errors",
        ratio >= MIN_CEILING_RATIO and scenario.errors == 0,
        f"{ratio:.2f} of the ceiling, {scenario.errors} errors",
    )


def _latency_factors(
    run: DatabaseRun, name: str, first_page: str
) -> tuple[float, float]:
    scenario, first = run.scenarios[name], run.scenarios[first_page]
    return _factor(scenario, first, "p50_ms"), _factor(scenario, first, "p99_ms")


def _latency_target(run: DatabaseRun, name: str) -> Target:
    p50, p99 = _latency_factors(run, name, "catalog list")
    scenario, first = run.scenarios[name], run.scenarios["catalog list"]
    return Target(
        f"{name}: p50 and p99 within {MAX_LATENCY_FACTOR}x the first page's",
        p50 <= MAX_LATENCY_FACTOR and p99 <= MAX_LATENCY_FACTOR,
        f"p50 {p50:.2f}x, p99 {p99:.2f}x "
        f"({scenario.median(lambda r: r.p50_ms):.1f} / "
        f"{scenario.median(lambda r: r.p99_ms):.1f} ms vs "
        f"{first.median(lambda r: r.p50_ms):.1f} / "
        f"{first.median(lambda r: r.p99_ms):.1f} ms)",
    )


def database_path_note(run: DatabaseRun) -> str:
    """What a cache miss costs: the same comparison with the cache off."""
    if "db: catalog list" not in run.scenarios:
        return ""
    parts = []
    for name in ("deep page", "catalog search"):
        p50, p99 = _latency_factors(run, f"db: {name}", "db: catalog list")
        parts.append(f"{name} p50 {p50:.2f}x, p99 {p99:.2f}x")
    return "database path (cache off), against its first page: " + "; ".join(parts)


_COLD_SHOWN = ("catalog list", "product detail", "deep page", "catalog search")


def cold_note(run: DatabaseRun) -> str:
    """The warm-ups: what the first second after a quiet spell looks like."""
    parts = [
        f"{name} {scenario.median(lambda r: r.p50_ms, cold=True):.1f} / "
        f"{scenario.median(lambda r: r.p99_ms, cold=True):.1f}"
        for name in _COLD_SHOWN
        if (scenario := run.scenarios.get(name)) and scenario.cold_runs
    ]
    if not parts:
        return ""
    heading = "the first second of each run, caches cold (p50 / p99 ms): "
    return heading + "; ".join(parts)


def _login_target(run: DatabaseRun, clients: int) -> Target:
    during = run.scenarios["catalog list, during logins"]
    alone = run.scenarios["catalog list, alone"]
    factor = _factor(during, alone, "p99_ms")
    return Target(
        f"catalog p99 with {clients} clients logging in: within "
        f"{MAX_P99_FACTOR_DURING_LOGINS}x of without",
        factor <= MAX_P99_FACTOR_DURING_LOGINS,
        f"{factor:.2f}x ({during.median(lambda r: r.p99_ms):.1f} ms vs "
        f"{alone.median(lambda r: r.p99_ms):.1f} ms)",
    )


def _memory_target(run: DatabaseRun) -> Target:
    memory = run.memory
    return Target(
        f"worker RSS after {memory.total_requests:,} requests within "
        f"{MAX_MEMORY_GROWTH:.0%} of after {memory.first_requests:,}",
        memory.growth <= MAX_MEMORY_GROWTH,
        f"{memory.first_kib / 1024:.1f} MiB -> {memory.total_kib / 1024:.1f} MiB "
        f"({memory.growth:+.1%}), {memory.errors} errors",
    )


def judge(run: DatabaseRun, login_clients: int) -> list[Target]:
    """The targets of the groups that ran."""
    targets = []
    if "catalog list" in run.scenarios:
        targets += [
            _ceiling_target(run, "catalog list"),
            _ceiling_target(run, "product detail"),
            _latency_target(run, "deep page"),
            _latency_target(run, "catalog search"),
        ]
    if "catalog list, alone" in run.scenarios:
        targets.append(_login_target(run, login_clients))
    if run.memory.total_requests:
        targets.append(_memory_target(run))
    return targets


def _row(scenario: Scenario) -> str:
    ratio = scenario.ratio()
    unit = "purch/s" if scenario.unit == "purchases" else "req/s"
    rate = scenario.median(lambda r: r.rate)
    p50, p99 = scenario.median(lambda r: r.p50_ms), scenario.median(lambda r: r.p99_ms)
    shown_ratio = "" if ratio is None else f"{ratio:.2f}"
    return (
        f"{scenario.name:<46} {rate:>9,.1f} {unit:<7} {p50:>8.1f} {p99:>8.1f}"
        f" {scenario.errors:>6} {shown_ratio:>6}"
    )


def table(run: DatabaseRun, targets: list[Target]) -> str:
    header = (
        f"{'scenario':<46} {'rate':>9} {'':<7} {'p50 ms':>8} {'p99 ms':>8}"
        f" {'errors':>6} {'ratio':>6}"
    )
    lines = [header, "-" * len(header)]
    lines += [_row(scenario) for scenario in run.scenarios.values()]
    lines += ["", "targets (ratio = request rate over the ceiling's, same round):"]
    lines += [
        f"  [{'met' if t.met else 'MISSED'}] {t.name}: {t.measured}" for t in targets
    ]
    notes = [note for note in (database_path_note(run), cold_note(run)) if note]
    return "\n".join([*lines, "", *notes])


def _scenario_json(scenario: Scenario) -> dict[str, Any]:
    return {
        "name": scenario.name,
        "unit": scenario.unit,
        "rate": scenario.median(lambda r: r.rate),
        "http_requests_per_second": scenario.median(lambda r: r.http_rate),
        "p50_ms": scenario.median(lambda r: r.p50_ms),
        "p99_ms": scenario.median(lambda r: r.p99_ms),
        "errors": scenario.errors,
        "ratio_to_ceiling": scenario.ratio(),
        "ceiling": scenario.ceiling.name if scenario.ceiling else None,
        "rounds": [asdict(run) for run in scenario.runs],
        "cold_p50_ms": scenario.median(lambda r: r.p50_ms, cold=True),
        "cold_p99_ms": scenario.median(lambda r: r.p99_ms, cold=True),
        "cold_rounds": [asdict(run) for run in scenario.cold_runs],
    }


def database_json(run: DatabaseRun, targets: list[Target]) -> dict[str, Any]:
    return {
        "database": run.database,
        "scenarios": [_scenario_json(s) for s in run.scenarios.values()],
        "memory": {**asdict(run.memory), "growth": run.memory.growth},
        "targets": [asdict(target) for target in targets],
        "database_path_note": database_path_note(run),
        "cold_note": cold_note(run),
    }


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
