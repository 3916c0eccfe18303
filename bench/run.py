"""Run every benchmark and print its Markdown tables: `python bench/run.py [--quick] [--only NAME ...]`.

Each benchmark runs in its own fresh interpreter (`python -m bench.<name>`), so one's heap does not
blur another's memory figures. Exit status 1 when any benchmark's own correctness check failed
(or it crashed); `--quick` runs small numbers, for CI (`.ci/run`).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# (module under bench/, what it measures)
BENCHMARKS = (
    ("x_requests", "1. X requests per browse"),
    ("ack_latency", "2. Acknowledgement latency under load"),
    ("page_flips", "3. Page-flip throughput"),
    ("memory", "4. Memory per live paginator"),
    ("digest_tick", "5. Digest tick (bench/digest_tick.py, by the digest helper)"),
    ("digest_subjects", "5b. Digest tick over 1,000 subjects against a naive scheduler"),
    ("startup", "6. Startup"),
    ("live_likes", "7. Live likes: latency, drops, X requests, likers past 100"),
    ("live_kills", "7b. Live likes across kill -9 of the bot process"),
    ("charts", "8. Chart rendering (ui/charts.py)"),
    ("supporters", "9. /likes top: X requests against the naive board"),
    ("scale_out", "11. Scale-out: processes on one PostgreSQL, claims under contention"),
)
BENCH_TIMEOUT = 900


def machine() -> str:
    """One line: cores, memory, CPU model, Python and discord.py versions."""
    cores = os.cpu_count()
    memory = "?"
    try:
        with open("/proc/meminfo") as meminfo:
            kib = int(next(line for line in meminfo if line.startswith("MemTotal")).split()[1])
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next(line for line in cpuinfo if line.startswith("model name")).split(":", 1)[1].strip()
    except (OSError, StopIteration):
        pass
    try:
        import discord  # noqa: PLC0415

        discord_version = discord.__version__
    except ImportError:
        discord_version = "?"
    return (f"{cores} cores ({model}), {memory} RAM, Linux {platform.release()}, "
            f"Python {platform.python_version()}, discord.py {discord_version}")


def commit() -> str:
    try:
        result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                                text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "?"
    head = result.stdout.strip()
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                            capture_output=True, text=True, check=False)
    return f"{head} + uncommitted changes" if status.stdout.strip() else head


def run_one(name: str, quick: bool) -> tuple[bool, str, float]:
    """(passed, its stdout, seconds) of `python -m bench.<name>`."""
    if not (REPO / "bench" / f"{name}.py").exists():
        return True, f"_bench/{name}.py is not there yet: skipped._\n", 0.0
    started = time.perf_counter()
    try:
        result = subprocess.run(
            [sys.executable, "-m", f"bench.{name}", *(["--quick"] if quick else [])], cwd=REPO,
            capture_output=True, text=True, timeout=BENCH_TIMEOUT, check=False,
        )
    except subprocess.TimeoutExpired:
        return False, f"**FAILED**: timed out after {BENCH_TIMEOUT} s\n", time.perf_counter() - started
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        # The benchmark's own message (BENCH FAILURE: …) or its traceback, for the CI log.
        detail = result.stderr.strip().splitlines()[-20:]
        return False, result.stdout + "\n**FAILED**:\n\n```\n" + "\n".join(detail) + "\n```\n", seconds
    return True, result.stdout, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run LikeLens' benchmarks and print Markdown tables")
    parser.add_argument("--quick", action="store_true", help="small numbers, for CI")
    parser.add_argument("--only", nargs="*", metavar="NAME", help="run only these (e.g. x_requests startup)")
    args = parser.parse_args(argv)
    chosen = [(n, t) for n, t in BENCHMARKS if not args.only or n in args.only]
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"# LikeLens benchmarks{' (quick)' if args.quick else ''}\n")
    print(f"- Date: {now}; commit {commit()}")
    print(f"- Machine: {machine()}")
    print(f"- Reproduce: `python bench/run.py{' --quick' if args.quick else ''}` "
          "(or one benchmark: `python -m bench.<name>`).")
    print("- Everything on 127.0.0.1: the Discord emulator (tests/emulator), the X sandbox "
          "(xapi/sandbox/), a real LikesBot; each baseline runs in the same process run. "
          "Compare the ratios, not the absolute times.\n")
    failed = []
    for name, title in chosen:
        passed, output, seconds = run_one(name, args.quick)
        print(f"## {title} (`python -m bench.{name}`, {seconds:.1f} s)\n")
        print(output.rstrip() + "\n", flush=True)
        if not passed:
            failed.append(name)
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
