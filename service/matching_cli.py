"""`safeaccom match`: solve a match problem file (CONTRACT section 3); result JSON on stdout.

Kept lean because it is measured end to end: no import of the web stack or the database.
"""

from __future__ import annotations

import argparse
import sys
import time

from service.cli_error import CliError
from service.settings import Settings, SettingsError


def _keep_freed_memory() -> None:
    """Let glibc reuse freed heap instead of mapping fresh pages for each large numpy temporary.

    The matcher makes many short-lived arrays of millions of entries; with glibc's defaults each is
    mmap'ed and page-faulted anew, which costs more than the arithmetic. One arena: a thread's own
    arena holds at most 64 MB, so its large arrays would be mmap'ed anew after all (measured: two
    threads without this were slower than one and took 120 MB more). This process only.
    """
    if sys.platform != "linux":
        return
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 1 << 30)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD
        libc.mallopt(-8, 1)  # M_ARENA_MAX: the matcher's threads share that heap (their own arenas mmap anew)
    except (OSError, AttributeError):
        pass


def run_match(args: argparse.Namespace) -> int:
    """Read, validate, solve and print; bad input raises CliError naming the item and field."""
    started = time.perf_counter()
    _keep_freed_memory()
    try:
        if args.problem == "-":
            raw = sys.stdin.buffer.read()
        else:
            with open(args.problem, "rb") as handle:
                raw = handle.read()
    except OSError as error:
        raise CliError(f"--problem: cannot read {args.problem!r}: {error.strerror}") from None
    if args.time_limit is not None and args.time_limit <= 0:
        raise CliError("--time-limit: must be > 0 seconds")
    # every solve has a limit (CONTRACT section 7): --time-limit may lower the deployment's, never raise it
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        raise CliError(str(error)) from None
    threads = settings.match_threads
    asked = settings.solve_time_limit if args.time_limit is None else args.time_limit
    time_limit = min(asked, settings.solve_time_limit_max)

    read_seconds = time.perf_counter() - started
    import msgspec

    import optimiser

    import_seconds = time.perf_counter() - started - read_seconds
    try:
        problem = optimiser.read_problem(raw)
    except optimiser.ProblemError as error:
        if error.item == "problem" and not error.field:
            raise CliError(f"--problem: {error.message}") from None
        raise CliError(f"{error.item}: field {error.field or '(whole item)'}: {error.message}") from None
    del raw  # the problem holds all we need
    parse_seconds = time.perf_counter() - started - read_seconds - import_seconds
    result = optimiser.solve(problem, strategy=args.strategy, time_limit=time_limit, threads=threads)
    result.stats["read_seconds"] = round(read_seconds, 4)
    result.stats["import_seconds"] = round(import_seconds, 4)
    result.stats["parse_seconds"] = round(parse_seconds, 4)
    result.stats["total_seconds"] = round(time.perf_counter() - started, 4)
    try:
        encoded = msgspec.json.encode(result.to_dict())  # Litestar's encoder: 7x faster than json here
        sys.stdout.flush()
        sys.stdout.buffer.write(encoded + b"\n")
        sys.stdout.buffer.flush()
    except BrokenPipeError:  # the reader went away (| head): not an error of ours
        sys.stderr.close()
    return 0
