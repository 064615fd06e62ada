"""The `safeaccom` command (CONTRACT section 1)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from service.cli_error import CliError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

    from service.settings import Settings


def _build_parser(load_benches: bool) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="safeaccom", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="embedded database, demo data, one key per role, serve")
    demo.add_argument("--host", default=None)
    demo.add_argument("--port", type=int, default=None)

    serve = commands.add_parser("serve", help="serve the API")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--workers", type=int, default=None,
                       help="server processes (default: the CPUs this process may use)")

    commands.add_parser("migrate", help="alembic upgrade head, then load the reference data")

    key = commands.add_parser("create-key", help="create an API key; the key alone is the last line")
    key.add_argument("--role", required=True, choices=["admin", "officer", "provider", "commissioner"])
    key.add_argument("--name", required=True)
    key.add_argument("--authority", default=None, help="GSS code (officer, commissioner)")
    key.add_argument("--provider", type=int, default=None, help="provider id (provider)")
    key.add_argument("--expires-in-days", type=float, default=None, dest="expires_in_days",
                     help="the key stops working this many days from now (default: until revoked)")

    revoke = commands.add_parser("revoke-key", help="revoke an API key: it gets 401 from then on")
    which = revoke.add_mutually_exclusive_group(required=True)
    which.add_argument("--id", type=int, default=None, dest="key_id")
    which.add_argument("--prefix", default=None, help="the key's first 12 characters, as GET /api/v1/keys shows")

    match = commands.add_parser("match", help="solve a match problem file; result JSON on stdout")
    match.add_argument("--problem", required=True, help="path to the problem JSON ('-' for stdin)")
    match.add_argument("--strategy", choices=["optimal", "greedy"], default="optimal")
    match.add_argument("--time-limit", type=float, default=None, dest="time_limit")

    bench = commands.add_parser("bench", help="benchmarks; JSON figures on stdout")
    benches = bench.add_subparsers(dest="bench", required=True, metavar="BENCH")
    matcher = benches.add_parser("matcher", help="the matcher against greedy and scipy")
    api = benches.add_parser("api", help="API latency, alone and during a large match")
    alerts = benches.add_parser("alerts", help="the vacancy.suitable re-check and its cost")
    if load_benches:  # their modules load only for `bench`: `match` is timed end to end
        from service.bench import alerts as alerts_bench
        from service.bench import api as api_bench
        from service.bench import matcher as matcher_bench

        matcher_bench.add_arguments(matcher)
        api_bench.add_arguments(api)
        alerts_bench.add_arguments(alerts)

    openapi = commands.add_parser("openapi", help="write the OpenAPI document (api_spec/openapi.json)")
    openapi.add_argument("--output", default="-")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    words = list(sys.argv[1:] if argv is None else argv)
    args = _build_parser(load_benches=words[:1] == ["bench"]).parse_args(words)
    try:
        return _dispatch(args)
    except CliError as error:
        print(f"safeaccom: error: {error}", file=sys.stderr)
        return 2


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "match":
        from service.matching_cli import run_match

        return run_match(args)
    if args.command == "bench":
        from service.bench import alerts as alerts_bench
        from service.bench import api as api_bench
        from service.bench import matcher as matcher_bench

        return {"matcher": matcher_bench, "api": api_bench, "alerts": alerts_bench}[args.bench].run(args)
    if args.command == "openapi":
        return _openapi(args.output)
    settings = _settings()
    if args.command == "migrate":
        return _migrate(settings)
    if args.command == "create-key":
        return _create_key(settings, args)
    if args.command == "revoke-key":
        return _revoke_key(settings, args)
    if args.command == "serve":
        return _serve(settings, args.host, args.port, demo=False, workers=_workers(args.workers))
    if args.command == "demo":
        return _serve(settings, args.host, args.port, demo=True, workers=1)
    raise CliError(f"unknown command {args.command!r}")


def _settings() -> Settings:
    from service.settings import Settings, SettingsError

    try:
        settings = Settings.from_env()
        if settings.database_url:
            from service.db import async_url

            async_url(settings.database_url)
    except (SettingsError, ValueError) as error:
        raise CliError(str(error)) from None
    return settings


def _stop_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so the embedded PostgreSQL is stopped on the way out."""
    import signal

    def handler(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def _migrate(settings: Settings) -> int:
    import asyncio

    from service.db import database
    from service.migrate import migrate

    _stop_on_sigterm()
    with database(settings.database_url, settings.data_dir) as url:
        counts = asyncio.run(migrate(url))
    print(f"migrated to head; reference data: {counts}", file=sys.stderr)
    return 0


def _in_one_transaction(settings: Settings, work: Callable[[AsyncSession], Awaitable[str]]) -> int:
    """Run `work` in one transaction on the configured database and print what it returns."""
    import asyncio

    from service.db import database
    from service.errors import DomainError

    async def run(url: str) -> str:
        from service import db

        engine = _engine(url)
        try:
            async with db.session_maker(engine).begin() as session:
                return await work(session)
        except DomainError as error:
            field = error.errors[0]["field"] if error.errors else None
            message = error.errors[0]["message"] if error.errors else str(error)
            raise CliError(f"--{field.replace('_id', '')}: {message}" if field else message) from None
        finally:
            await engine.dispose()

    _stop_on_sigterm()
    with database(settings.database_url, settings.data_dir) as url:
        print(asyncio.run(run(url)))
    return 0


def _create_key(settings: Settings, args: argparse.Namespace) -> int:
    from service.caller import Role

    role = Role(args.role)
    expires_at = None
    if args.expires_in_days is not None:
        from datetime import timedelta

        from service.db import utcnow

        if not 0 < args.expires_in_days <= 3650:
            raise CliError("--expires-in-days: must be more than 0 and at most 3650")
        expires_at = utcnow() + timedelta(days=args.expires_in_days)

    async def create(session: AsyncSession) -> str:
        from service.access import service as access

        row, key = await access.create_key(
            session, role, args.name, authority=args.authority, provider_id=args.provider, expires_at=expires_at,
        )
        print(f"created {role.value} key {row.id} ({args.name}); it is shown once, now:")
        return key

    return _in_one_transaction(settings, create)


def _revoke_key(settings: Settings, args: argparse.Namespace) -> int:
    async def revoke(session: AsyncSession) -> str:
        from service.access import service as access
        from service.audit import service as audit

        row = await access.revoke_key(session, key_id=args.key_id, prefix=args.prefix)
        audit.record(session, None, "revoke", "api_key", row.id)
        return f"revoked {row.role.value} key {row.id} ({row.name}, {row.prefix}...) at {row.revoked_at}"

    return _in_one_transaction(settings, revoke)


def _workers(given: int | None) -> int:
    if given is None:
        from service.settings import available_cpus

        return available_cpus()
    if not 1 <= given <= 64:
        raise CliError("--workers: must be 1 to 64")
    return given


def _serve(settings: Settings, host: str | None, port: int | None, *, demo: bool, workers: int = 1) -> int:
    import asyncio
    import os

    import uvicorn

    from service.app import create_app
    from service.db import database
    from service.logs import log_config
    from service.migrate import migrate
    from service.serving import pool_size_for, serve_workers, uvicorn_options

    _stop_on_sigterm()
    with database(settings.database_url, settings.data_dir) as url:
        if demo or not settings.database_url:
            asyncio.run(migrate(url))
        if demo:
            for role, key in asyncio.run(_load_demo(url)):
                print(f"{role:<13} {key}", flush=True)
        where = f"http://{host or settings.host}:{port or settings.port}"
        print(f"API docs {where}/schema/swagger ; dashboard {where}/login (commissioner or admin key)",
              file=sys.stderr, flush=True)
        # Our request log replaces uvicorn's access log (which names client addresses).
        options: dict[str, Any] = {
            "host": host or settings.host, "port": port or settings.port, "access_log": False,
            "log_config": log_config(settings.log_level, settings.log_format, settings.request_log),
            **uvicorn_options(settings),
        }
        if workers == 1:
            uvicorn.run(create_app(settings.with_database(url)), **options)
        else:
            # Each worker process builds its own app from the environment: pass the resolved database on,
            # and the protocol by its import path (each worker imports it; a class made here cannot travel).
            os.environ["DATABASE_URL"] = url
            os.environ.setdefault("SAFEACCOM_DB_POOL_SIZE", str(pool_size_for(workers)))
            options["http"] = "service.serving:GuardedProtocol"
            if settings.metrics and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
                import tempfile  # the workers' metrics meet in files, so any worker answers for all

                os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="safeaccom-metrics-")
            try:
                serve_workers(options, workers)
            except OSError as error:  # the port is taken, or the address is not this machine's
                raise CliError(f"--host/--port: cannot listen on {options.get('host')}:{options.get('port')}: "
                               f"{error.strerror or error}") from None
    return 0


async def _load_demo(url: str) -> list[tuple[str, str]]:
    from service import db
    from service.demo import demo_keys, load_demo

    engine = _engine(url)
    try:
        async with db.session_maker(engine).begin() as session:
            counts = await load_demo(session)
            keys = await demo_keys(session)
    finally:
        await engine.dispose()
    print(f"demo data: {counts['units']} units added" if counts["units"] else "demo data: already loaded",
          file=sys.stderr)
    return keys


def _engine(url: str) -> AsyncEngine:
    """An engine with every table's mapping loaded (foreign keys resolve across features)."""
    import service.models  # noqa: F401
    from service import db

    return db.create_engine(url)


def _openapi(output: str) -> int:
    import json

    from service.app import create_app
    from service.settings import Settings

    document = create_app(Settings(database_url="postgresql://unused@/unused")).openapi_schema.to_schema()
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    if output == "-":
        sys.stdout.write(text)
    else:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
