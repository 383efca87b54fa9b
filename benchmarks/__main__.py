"""``python -m benchmarks [NAME...] [-- ARGS]``: run the named benchmarks (all when none is named).

Each benchmark is a module ``benchmarks/<name>.py`` with ``main(argv)``; arguments after ``--``
go to every benchmark run (e.g. ``python -m benchmarks adm_fit -- --quick``). A benchmark that cannot run (e.g.
``peer_detector`` without ``pip install 'admfit[peer]'``) says so in one line; the exit status is then 2, after the
others ran.
"""
from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def available() -> list[str]:
    folder = Path(__file__).parent
    # Packages (families/) hold data generators, not benchmarks.
    return sorted(m.name for m in pkgutil.iter_modules([str(folder)]) if not m.name.startswith("_") and not m.ispkg)


def main(argv: list[str]) -> int:
    names, extra = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv else (argv, [])
    if names in (["-h"], ["--help"]):
        print(__doc__.strip())
        print("available:", ", ".join(available()))
        return 0
    unknown = [name for name in names if name not in available()]
    if unknown:
        print(f"error: unknown benchmark(s) {', '.join(unknown)}; available: {', '.join(available())}",
              file=sys.stderr)
        return 2
    status = 0
    for name in names or available():
        print(f"== {name}", flush=True)
        result = importlib.import_module(f"benchmarks.{name}").main(extra)
        # an int is an exit status (peer_detector's 2 without its extra); the others return their tables
        if isinstance(result, int) and not isinstance(result, bool) and result:
            status = max(status, result)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
