"""Another revision's code beside this one, for benchmarks that measure both in the same run (``--baseline``)."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@contextmanager
def checkout(revision: str):
    """(folder, description) of the code at ``revision``: a folder as given, or a temporary git worktree."""
    if Path(revision).is_dir():
        yield Path(revision).resolve(), f"folder {revision}"
        return
    git = shutil.which("git")
    if git is None or not (REPO / ".git").exists():
        raise SystemExit(f"error: --baseline {revision}: no git repository at {REPO}; pass a folder holding "
                         "the baseline's code instead")
    commit = subprocess.run([git, "-C", str(REPO), "rev-parse", "--verify", f"{revision}^{{commit}}"],
                            capture_output=True, text=True)
    if commit.returncode != 0:
        raise SystemExit(f"error: --baseline {revision}: not a revision of {REPO}")
    folder = Path(tempfile.mkdtemp(prefix="admfit_baseline_")) / "code"
    subprocess.run([git, "-C", str(REPO), "worktree", "add", "--detach", "--quiet", str(folder),
                    commit.stdout.strip()], check=True)
    try:
        yield folder, f"commit {commit.stdout.strip()[:10]}"
    finally:
        subprocess.run([git, "-C", str(REPO), "worktree", "remove", "--force", str(folder)], check=False)
        shutil.rmtree(folder.parent, ignore_errors=True)


def current_code() -> str:
    """This checkout, as the benchmarks print it: its commit, and whether files differ from it."""
    git = shutil.which("git")
    if git is None:
        return f"folder {REPO}"
    head = subprocess.run([git, "-C", str(REPO), "rev-parse", "--short=10", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run([git, "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True)
    if head.returncode != 0:
        return f"folder {REPO}"
    return f"commit {head.stdout.strip()}" + (" with uncommitted changes" if dirty.stdout.strip() else "")


@contextmanager
def import_path(root: Path):
    """The PYTHONPATH under which ``import admfit`` and ``import admfit_cli`` load the code at ``root`` (whose
    command-line package is the folder ``cli``, installed as ``admfit_cli``), ahead of any installed copy."""
    with tempfile.TemporaryDirectory(prefix="admfit_path_") as shim:
        (Path(shim) / "admfit_cli").symlink_to(Path(root).resolve() / "cli", target_is_directory=True)
        yield os.pathsep.join([shim, str(Path(root).resolve())])
