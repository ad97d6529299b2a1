"""One benchmark run on one database: build, serve, measure, tear down.

Scenarios run in groups. Each round of a group runs the ceiling first and
then each scenario once, so a scenario is compared with a ceiling run made
seconds before it, and a noisy neighbour hurts both sides alike; reported
figures are medians over the rounds.
"""

import json
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import httpx

from bench import calls
from bench.data import PASSWORD, build, user_email
from bench.load import (
    Call,
    Driver,
    Load,
    RunningLoad,
    RunResult,
    start_python_module,
)
from bench.servers import Server

_TOKEN_TTL_SECONDS = 4 * 3600
# Every measured run follows a run this long of the same calls on the same
# server: figures are of the steady state, and the warm-up is kept apart as
# what the first second after a quiet spell looks like.
_WARM_UP_SECONDS = 1.0
GROUPS = ("catalog", "database", "logins", "writes", "memory")
# The service runs as deployed (Makefile, Dockerfile); the ceiling takes
# uvicorn's defaults, the fastest loop it finds.
SERVICE_UVICORN_ARGS = ("--loop", "asyncio")
_MEMORY_SECONDS_BOUND = 900


@dataclass(frozen=True)
class Options:
    products: int = 10_000
    users: int = 1_000
    seconds: float = 4.0
    rounds: int = 3
    connections: int = 32
    login_clients: int = 16
    shoppers: int = 8
    memory_first: int = 10_000
    memory_total: int = 100_000
    cache_seconds: float = 2.0
    groups: tuple[str, ...] = GROUPS


class Warmed(NamedTuple):
    """A measured run, and the warm-up run just before it."""

    cold: RunResult
    steady: RunResult


@dataclass
class Scenario:
    name: str
    ceiling: "Scenario | None" = None
    unit: str = "requests"
    runs: list[RunResult] = field(default_factory=list)
    # The warm-ups: each run's first second, its answers not yet cached.
    cold_runs: list[RunResult] = field(default_factory=list)

    def median(
        self, pick: Callable[[RunResult], float], *, cold: bool = False
    ) -> float:
        runs = self.cold_runs if cold else self.runs
        return statistics.median(pick(run) for run in runs) if runs else 0.0

    @property
    def errors(self) -> int:
        """Errors of every run, warm-ups included."""
        return sum(run.errors for run in (*self.runs, *self.cold_runs))

    def ratio(self) -> float | None:
        """Median, over rounds, of this request rate over its ceiling's."""
        if self.ceiling is None or not self.runs:
            return None
        pairs = zip(self.runs, self.ceiling.runs, strict=False)
        return statistics.median(
            run.http_rate / top.http_rate for run, top in pairs if top.http_rate
        )


@dataclass
class Memory:
    first_requests: int = 0
    first_kib: int = 0
    total_requests: int = 0
    total_kib: int = 0
    errors: int = 0

    @property
    def growth(self) -> float:
        return self.total_kib / self.first_kib - 1 if self.first_kib else 0.0


@dataclass
class DatabaseRun:
    database: str
    scenarios: dict[str, Scenario] = field(default_factory=dict)
    memory: Memory = field(default_factory=Memory)

    def add(
        self, name: str, ceiling: Scenario | None = None, unit: str = "requests"
    ) -> Scenario:
        scenario = Scenario(name, ceiling, unit)
        self.scenarios[name] = scenario
        return scenario


class _Servers:
    """The service in its variants, and the ceiling, all on loopback."""

    def __init__(
        self, stack: ExitStack, database_url: str, options: Options, logs: Path
    ):
        self._stack, self._logs = stack, logs
        self._database_url, self._options = database_url, options
        self.service = self.start("service", cache=options.cache_seconds, worker=True)
        self.uncached = self.start("service-cache-off", cache=0)
        self.info_logs = self.start(
            "service-info-logs", cache=options.cache_seconds, log_level="INFO"
        )
        self.ceiling = self._start_ceiling()

    def start(
        self,
        name: str,
        *,
        cache: float,
        worker: bool = False,
        log_level: str = "WARNING",
    ) -> Server:
        env = {
            "DATABASE_URL": self._database_url,
            "CATALOG_CACHE_SECONDS": str(cache),
            "RUN_WORKER": str(worker).lower(),
            "LOG_LEVEL": log_level,
            "ACCESS_TOKEN_TTL_SECONDS": str(_TOKEN_TTL_SECONDS),
        }
        log = self._logs / f"{name}.log"
        return self._serve(
            Server(name, "app.main:app", env, log, uvicorn_args=SERVICE_UVICORN_ARGS)
        )

    def _start_ceiling(self) -> Server:
        page, products = (
            self._logs / "ceiling-page.json",
            self._logs / "ceiling-products.json",
        )
        with httpx.Client(base_url=self.uncached.base_url, timeout=30) as client:
            page.write_bytes(client.get("/products/").content)
            products.write_text(json.dumps(_all_products(client)))
        env = {"BENCH_CEILING_PAGE": str(page), "BENCH_CEILING_PRODUCTS": str(products)}
        log = self._logs / "ceiling.log"
        return self._serve(
            Server("ceiling", "bench.ceiling:app", env, log, "/products/")
        )

    def _serve(self, server: Server) -> Server:
        self._stack.callback(server.stop)
        server.wait_ready()
        return server


def _all_products(client: httpx.Client) -> list[dict[str, object]]:
    products: list[dict[str, object]] = []
    while True:
        page = client.get("/products/", params={"limit": 100, "offset": len(products)})
        items = page.json()["items"]
        if not items:
            return products
        products.extend(items)


def _log_in(base_url: str, user_indexes: range) -> list[str]:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        return [
            client.post(
                "/login/", json={"email": user_email(index), "password": PASSWORD}
            ).json()["access_token"]
            for index in user_indexes
        ]


class Bench:
    def __init__(self, driver: Driver, options: Options, say: Callable[[str], None]):
        self.driver, self.options, self.say = driver, options, say

    @contextmanager
    def _servers(self, database_url: str, logs: Path) -> Iterator[_Servers]:
        with ExitStack() as stack:
            yield _Servers(stack, database_url, self.options, logs)

    def run(self, database: str, database_url: str, logs: Path) -> DatabaseRun:
        options = self.options
        self.say(f"building {options.products:,} products and {options.users:,} users")
        build(database_url, products=options.products, users=options.users)
        result = DatabaseRun(database)
        with self._servers(database_url, logs) as servers:
            half = max(options.users // 2, 1)
            cart_tokens = _log_in(servers.service.base_url, range(min(64, half)))
            shopper_tokens = _log_in(
                servers.service.base_url, range(half, half + options.shoppers)
            )
            self._warm_up(servers)
            groups = options.groups
            if "catalog" in groups:
                self._catalog(result, servers)
            if "database" in groups:
                self._database_path(result, servers)
            if "logins" in groups:
                self._logins(result, servers)
            if "writes" in groups:
                self._writes(result, servers, cart_tokens, shopper_tokens)
            if "memory" in groups:
                self._memory(result, servers, cart_tokens)
        return result

    def _load(
        self, server: Server, call_list: list[Call], connections: int | None = None
    ) -> Load:
        return Load(
            server.base_url,
            call_list,
            connections or self.options.connections,
            self.options.seconds,
        )

    def _measure(self, server: Server, call_list: list[Call]) -> Callable[[], Warmed]:
        def warmed() -> Warmed:
            load = self._load(server, call_list)
            warm_up = Load(
                load.base_url, load.calls, load.connections, _WARM_UP_SECONDS
            )
            return Warmed(self.driver.run(warm_up), self.driver.run(load))

        return warmed

    def _rounds(
        self, steps: list[tuple[Scenario, Callable[[], RunResult | Warmed]]]
    ) -> None:
        for round_number in range(1, self.options.rounds + 1):
            for scenario, measure in steps:
                run = measure()
                if isinstance(run, Warmed):
                    scenario.cold_runs.append(run.cold)
                    run = run.steady
                scenario.runs.append(run)
                self.say(
                    f"  round {round_number} {scenario.name:<44} {run.rate:>9,.1f}/s"
                    f"  p50 {run.p50_ms:>7.1f} ms  p99 {run.p99_ms:>7.1f} ms"
                    f"  errors {run.errors}"
                )

    def _warm_up(self, servers: _Servers) -> None:
        every = (servers.service, servers.uncached, servers.info_logs, servers.ceiling)
        for server in every:
            load = self._load(server, calls.catalog_list())
            self.driver.run(
                Load(load.base_url, load.calls, load.connections, _WARM_UP_SECONDS)
            )

    def _catalog(self, result: DatabaseRun, servers: _Servers) -> None:
        self.say("catalog, with the cache (alternating with the ceiling)")
        add, measure, products = result.add, self._measure, self.options.products
        service, ceiling = servers.service, servers.ceiling
        top = add("ceiling: catalog list")
        top_detail = add("ceiling: product detail")
        details = calls.product_detail(products)
        self._rounds([
            (top, measure(ceiling, calls.catalog_list())),
            (add("catalog list", top), measure(service, calls.catalog_list())),
            (add("catalog search", top), measure(service, calls.search(products))),
            (add("deep page", top), measure(service, calls.deep_pages(products))),
            (top_detail, measure(ceiling, details)),
            (add("product detail", top_detail), measure(service, details)),
            (
                add("catalog list, INFO logs", top),
                measure(servers.info_logs, calls.catalog_list()),
            ),
        ])  # fmt: skip

    def _database_path(self, result: DatabaseRun, servers: _Servers) -> None:
        self.say("catalog, database path (CATALOG_CACHE_SECONDS=0)")
        add, measure, products = result.add, self._measure, self.options.products
        uncached = servers.uncached
        top = add("ceiling: catalog list (db group)")
        self._rounds([
            (top, measure(servers.ceiling, calls.catalog_list())),
            (add("db: catalog list", top), measure(uncached, calls.catalog_list())),
            (add("db: deep page", top), measure(uncached, calls.deep_pages(products))),
            (add("db: catalog search", top), measure(uncached, calls.search(products))),
        ])  # fmt: skip

    def _logins(self, result: DatabaseRun, servers: _Servers) -> None:
        clients, add, service = self.options.login_clients, result.add, servers.service
        self.say(f"logins: the catalog alone, then with {clients} clients logging in")
        top = add("ceiling: catalog list (login group)")
        during = add(f"login, {clients} clients, during catalog load", top)
        logins = calls.login(self.options.users)

        def catalog_during_logins() -> Warmed:
            return self._catalog_during_logins(service, logins, during)

        def logins_alone() -> RunResult:
            return self.driver.run(self._load(service, logins, clients))

        listing = calls.catalog_list()
        self._rounds([
            (top, self._measure(servers.ceiling, listing)),
            (add("catalog list, alone", top), self._measure(service, listing)),
            (add("catalog list, during logins", top), catalog_during_logins),
            (add(f"login, {clients} clients", top), logins_alone),
        ])  # fmt: skip

    def _catalog_during_logins(
        self, service: Server, logins: list[Call], during: Scenario
    ) -> Warmed:
        """The catalog, warm-up and measured run, all the while logins go on."""
        options = self.options
        login_load = Load(
            service.base_url,
            logins,
            options.login_clients,
            _WARM_UP_SECONDS + options.seconds + 1,
        )
        running_logins = self.driver.start(login_load)
        catalog = self._measure(service, calls.catalog_list())()
        during.runs.append(running_logins.result())
        return catalog

    def _writes(
        self,
        result: DatabaseRun,
        servers: _Servers,
        cart_tokens: list[str],
        shopper_tokens: list[str],
    ) -> None:
        shoppers = self.options.shoppers
        self.say(
            f"writes: add to cart; whole purchases by {shoppers} shoppers;"
            " the catalog search while they buy"
        )
        top = result.add("ceiling: catalog list (write group)")
        adds = calls.add_to_cart(cart_tokens, self.options.products)
        add_rows = result.add("add to cart", top)
        purchase_rows = result.add("purchase", top, unit="purchases")
        # Every checkout takes stock, a change to the catalog: how searches
        # fare when the cache must keep reading them again, and how purchases
        # fare beside them (over the search's warm-up and run, and 1 s more).
        search_rows = result.add("catalog search, during purchases", top)
        during = result.add("purchase, during catalog search", top, unit="purchases")

        def purchases() -> RunResult:
            return self._purchases(servers.service, shopper_tokens).result()

        def search_during_purchases() -> Warmed:
            seconds = _WARM_UP_SECONDS + self.options.seconds + 1
            buying = self._purchases(servers.service, shopper_tokens, seconds)
            search = self._measure(servers.service, calls.search(self.options.products))
            try:
                return search()
            finally:
                during.runs.append(buying.result())

        self._rounds([
            (top, self._measure(servers.ceiling, calls.catalog_list())),
            (add_rows, self._measure(servers.service, adds)),
            (purchase_rows, purchases),
            (search_rows, search_during_purchases),
        ])  # fmt: skip

    def _purchases(
        self, service: Server, tokens: list[str], seconds: float | None = None
    ) -> RunningLoad:
        if seconds is None:
            seconds = self.options.seconds
        spec = {
            "base_url": service.base_url,
            "tokens": tokens,
            "products": self.options.products,
            "seconds": seconds,
            "max_purchases": 100_000,
        }
        return start_python_module("bench.purchase", spec, seconds)

    def _memory(
        self, result: DatabaseRun, servers: _Servers, tokens: list[str]
    ) -> None:
        options, memory = self.options, result.memory
        self.say(
            f"memory: a fresh worker, RSS after {options.memory_first:,} "
            f"and {options.memory_total:,} requests of browsing"
        )
        fresh = servers.start(
            "service-memory", cache=options.cache_seconds, worker=True
        )
        try:
            mix = calls.browsing_mix(options.products, tokens)
            # wrk stops on time only, so the first, exact count is Python's.
            first = Driver(None).run(
                self._memory_load(fresh, mix, options.memory_first)
            )
            memory.first_requests, memory.first_kib = first.count, fresh.resident_kib()
            rest = self._at_least(fresh, mix, options.memory_total - first.count)
            memory.total_requests = first.count + sum(run.count for run in rest)
            memory.total_kib = fresh.resident_kib()
            memory.errors = first.errors + sum(run.errors for run in rest)
        finally:
            fresh.stop()
        self.say(
            f"  RSS {memory.first_kib / 1024:.1f} MiB after {memory.first_requests:,}, "
            f"{memory.total_kib / 1024:.1f} MiB after {memory.total_requests:,} "
            f"({memory.growth:+.1%}), errors {memory.errors}"
        )

    def _memory_load(self, server: Server, mix: list[Call], responses: int) -> Load:
        return Load(
            server.base_url,
            mix,
            self.options.connections,
            _MEMORY_SECONDS_BOUND,
            max_responses=max(responses, 1),
        )

    def _at_least(
        self, server: Server, mix: list[Call], responses: int
    ) -> list[RunResult]:
        """Runs until at least that many responses came back (or the time bound)."""
        if self.driver.wrk is None:
            return [self.driver.run(self._memory_load(server, mix, responses))]
        runs: list[RunResult] = []
        deadline = time.monotonic() + _MEMORY_SECONDS_BOUND
        while (
            sum(run.count for run in runs) < responses and time.monotonic() < deadline
        ):
            done = sum(run.count for run in runs)
            rate = runs[-1].rate if runs else 1000.0
            seconds = min(max((responses - done) / max(rate, 1.0), 1.0), 60.0)
            runs.append(
                self.driver.run(
                    Load(server.base_url, mix, self.options.connections, seconds)
                )
            )
        return runs
