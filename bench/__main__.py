"""`python -m bench`: the load benchmark on SQLite, and PostgreSQL if asked.

PostgreSQL runs when `BENCH_POSTGRES_URL` names a server
(`postgresql+asyncpg://user@127.0.0.1:5432/any`): the benchmark creates a
`bench_<random>` database there and drops it afterwards.
"""

import argparse
import os
import platform
import shlex
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from bench import report
from bench.data import check_postgres, postgres_database, sqlite_database
from bench.load import Driver, find_wrk
from bench.run import GROUPS, Bench, Options

ROOT = Path(__file__).resolve().parent.parent


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    add = parser.add_argument
    defaults = Options()
    add("--products", type=int, default=defaults.products, help="catalog size")
    add("--users", type=int, default=defaults.users, help="shopper accounts")
    add("--seconds", type=float, default=defaults.seconds, help="length of one run")
    add("--rounds", type=int, default=defaults.rounds, help="runs of each scenario")
    add("--connections", type=int, default=defaults.connections)
    add("--login-clients", type=int, default=defaults.login_clients)
    add(
        "--shoppers", type=int, default=defaults.shoppers, help="purchase virtual users"
    )
    add(
        "--memory-requests", type=int, nargs=2, metavar=("FIRST", "TOTAL"),
        default=(defaults.memory_first, defaults.memory_total),
    )  # fmt: skip
    add("--cache-seconds", type=float, default=defaults.cache_seconds)
    add(
        "--databases",
        default="sqlite,postgres",
        help="postgres needs BENCH_POSTGRES_URL",
    )
    add(
        "--groups",
        default=",".join(GROUPS),
        help=f"some of {','.join(GROUPS)}; only their targets are judged",
    )
    add("--driver", choices=("auto", "wrk", "python"), default="auto")
    add("--no-install", action="store_true", help="never apt-get install wrk")
    add("--output", type=Path, default=ROOT / "bench-results")
    add("--fail-on-miss", action="store_true", help="exit 1 when a target is missed")
    return parser


def _options(args: argparse.Namespace) -> Options:
    first, total = args.memory_requests
    return Options(
        products=args.products,
        users=args.users,
        seconds=args.seconds,
        rounds=args.rounds,
        connections=args.connections,
        login_clients=args.login_clients,
        shoppers=args.shoppers,
        memory_first=first,
        memory_total=total,
        cache_seconds=args.cache_seconds,
        groups=_groups(args.groups),
    )


def _groups(listed: str) -> tuple[str, ...]:
    groups = tuple(name.strip() for name in listed.split(",") if name.strip())
    unknown = set(groups) - set(GROUPS)
    if unknown or not groups:
        sys.exit(f"--groups takes some of {', '.join(GROUPS)}")
    return groups


def _driver(args: argparse.Namespace) -> Driver:
    if args.driver == "python":
        return Driver(None)
    wrk = find_wrk(install=not args.no_install)
    if wrk is None and args.driver == "wrk":
        sys.exit("wrk is not installed (apt-get install wrk)")
    return Driver(wrk)


_DATABASE_NAMES = {
    "sqlite": "sqlite",
    "postgres": "postgresql",
    "postgresql": "postgresql",
}


def _databases(args: argparse.Namespace, scratch: Path) -> Iterator[tuple[str, Any]]:
    # Everything is checked before the first database runs: a bad PostgreSQL
    # URL must not wait for minutes of SQLite to be told.
    listed = {name.strip() for name in args.databases.split(",") if name.strip()}
    unknown = listed - set(_DATABASE_NAMES)
    if unknown or not listed:
        sys.exit(f"--databases takes sqlite and/or postgres, not {', '.join(unknown)}")
    wanted = {_DATABASE_NAMES[name] for name in listed}
    postgres_url = os.environ.get("BENCH_POSTGRES_URL")
    if "postgresql" in wanted and postgres_url:
        problem = check_postgres(postgres_url)
        if problem:
            sys.exit(f"BENCH_POSTGRES_URL: {problem}")
    elif "postgresql" in wanted:
        if wanted == {"postgresql"}:
            sys.exit(
                "PostgreSQL needs BENCH_POSTGRES_URL, and nothing else was asked for"
            )
        print("PostgreSQL skipped: set BENCH_POSTGRES_URL to run it too", flush=True)
    if "sqlite" in wanted:
        yield "sqlite", sqlite_database(scratch)
    if "postgresql" in wanted and postgres_url:
        yield "postgresql", postgres_database(postgres_url)


def _say(text: str) -> None:
    print(text, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    options, driver = _options(args), _driver(args)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    document: dict[str, Any] = {
        "started_at": stamp,
        "command": shlex.join(["python", "-m", "bench", *(argv or sys.argv[1:])]),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "driver": driver.name,
        "options": vars(options),
        "databases": [],
    }
    missed = False
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        for database, database_context in _databases(args, Path(scratch)):
            missed |= _run_database(
                Bench(driver, options, _say), database, database_context, args, stamp,
                document,
            )  # fmt: skip
    path = args.output / f"bench-{stamp}.json"
    report.write_json(path, document)
    _say(f"\nreport written to {path}")
    return 1 if missed and args.fail_on_miss else 0


def _run_database(
    bench: Bench,
    database: str,
    database_context: AbstractContextManager[str],
    args: argparse.Namespace,
    stamp: str,
    document: dict[str, Any],
) -> bool:
    """Run on one database, print its table; True when a target was missed."""
    logs = args.output / f"bench-{stamp}-{database}-logs"
    logs.mkdir(parents=True, exist_ok=True)
    _say(f"\n== {database}: driver {bench.driver.name}, one worker per server ==")
    started = time.monotonic()
    with database_context as database_url:
        run = bench.run(database, database_url, logs)
    targets = report.judge(run, bench.options.login_clients)
    _say(f"\n== {database}: results ({time.monotonic() - started:.0f} s) ==")
    _say(report.table(run, targets))
    document["databases"].append(report.database_json(run, targets))
    return not all(target.met for target in targets)


if __name__ == "__main__":
    sys.exit(main())
