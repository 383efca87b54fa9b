"""Command start-up: each `--help` of `admfit` and `admfit-torch` timed as a process, as a user waits for it.

Every line is a fresh interpreter running the command's entry point (what the installed `admfit` script
does), best of ``--repeat`` runs: wall seconds and CPU seconds (user + system of the child; on a busy
machine the CPU time is the steadier figure). The first line, an interpreter that imports nothing, is
the floor every command pays; ``import admfit_cli.main`` before the start-up work (docs/evaluation.md, "Speed", the
``cli_startup`` table) was 1.6 s.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

_ENTRY = {"admfit": "admfit_cli.main", "admfit-torch": "admfit_cli.torch_main"}
_COMMANDS = {"admfit": ["fit", "eval", "eval-pseudo", "simulate-points", "synth", "plot"],
             "admfit-torch": ["train", "infer", "eval", "config"]}


def _run(code: str, args: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one interpreter running ``code`` with ``args``."""
    before = os.times()
    began = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, *args], check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - began
    after = os.times()
    return wall, (after.children_user - before.children_user) + (after.children_system - before.children_system)


def _best(code: str, args: list[str], repeat: int) -> tuple[float, float]:
    runs = [_run(code, args) for _ in range(repeat)]
    return min(wall for wall, _ in runs), min(cpu for _, cpu in runs)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks cli_startup", description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per command (best shown)")
    parser.add_argument("--quick", action="store_true", help="2 runs per command")
    args = parser.parse_args(argv or [])
    repeat = 2 if args.quick else args.repeat
    print(f"{'command':36s}{'wall s':>9s}{'CPU s':>9s}   (best of {repeat}, each a new process)")
    floor_wall, floor_cpu = _best("pass", [], repeat)
    print(f"{'python -c pass (the floor)':36s}{floor_wall:9.3f}{floor_cpu:9.3f}")
    for program, module in _ENTRY.items():
        code = f"import sys; sys.argv[0] = {program!r}; from {module} import app; app()"
        for command in [None, *_COMMANDS[program]]:
            line = " ".join(filter(None, [program, command, "--help"]))
            wall, cpu = _best(code, [command, "--help"] if command else ["--help"], repeat)
            print(f"{line:36s}{wall:9.3f}{cpu:9.3f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
