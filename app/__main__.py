"""Command line: `python -m app create-superuser|seed-demo|worker`."""

import argparse
import asyncio
import logging
import signal
import sys

from pydantic import ValidationError

from app.config import get_settings
from app.observability import configure_logging
from app.resources import Resources

logger = logging.getLogger("app.cli")


async def _create_superuser(resources: Resources, email: str, password: str) -> int:
    from app.auth.service import ensure_superuser

    if not 8 <= len(password) <= 128:
        print("error: the password must be 8 to 128 characters long", file=sys.stderr)
        return 2
    try:
        async with resources.session_factory() as session, session.begin():
            user = await ensure_superuser(
                session, resources.hasher, email=email, password=password
            )
    except ValidationError as exc:
        problems = "; ".join(error["msg"] for error in exc.errors())
        print(f"error: {problems}", file=sys.stderr)
        return 2
    print(f"superuser {user.email} (id {user.id}) is ready")
    return 0


async def _seed_demo(resources: Resources) -> int:
    from app.seed import seed_demo_catalog

    async with resources.session_factory() as session, session.begin():
        added = await seed_demo_catalog(session, resources.settings.currency)
    print(
        f"demo catalog: {added} products added"
        if added
        else "catalog not empty: nothing added"
    )
    return 0


async def _run_worker(resources: Resources) -> int:
    from app.worker import build_worker

    worker = build_worker(resources)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    worker.start()
    await stop.wait()
    await worker.stop()
    return 0


async def _main(args: argparse.Namespace) -> int:
    settings = get_settings()
    configure_logging(settings.log_level)
    resources = Resources.open(settings)
    try:
        if args.command == "create-superuser":
            return await _create_superuser(resources, args.email, args.password)
        if args.command == "seed-demo":
            return await _seed_demo(resources)
        return await _run_worker(resources)
    finally:
        await resources.close()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    superuser = commands.add_parser(
        "create-superuser", help="create or promote a staff user"
    )
    superuser.add_argument("--email", required=True)
    superuser.add_argument("--password", required=True)
    commands.add_parser(
        "seed-demo", help="load the demo catalog into an empty database"
    )
    commands.add_parser("worker", help="run background jobs without serving HTTP")
    return parser


def main() -> None:
    sys.exit(asyncio.run(_main(_parser().parse_args())))


if __name__ == "__main__":
    main()
