"""Family (c): the reference detector's own outputs (``admfit_torch.detector_family``), cached under
``.benchmarks/detector_family/`` at the repository root (delete an entry's folder to rebuild it).

``python -m benchmarks.families.signals_detector [--quick]`` builds (or reuses) the variants on the 200 THUMOS'14
training videos and prints each one's contrast: the own-class probability inside ground-truth instances against
outside (e4 0.25 vs 0.04, e25 0.80 vs 0.06; costs in the library module's docstring).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

import admfit_torch.detector_family as detector_family
from admfit import upsample_signal
from admfit.datasets import class_names, thumos14
from admfit.synthetic.families import FamilySignals
from admfit_torch.detector_family import VARIANTS, build_variant, load_build

QUICK_VARIANTS = ("e4-s0",)
CACHE_ROOT = Path(__file__).resolve().parents[2] / ".benchmarks" / "detector_family"


def make_family(videos: Mapping, classes: Sequence[str], variant: str, seed: int) -> dict[str, FamilySignals]:
    """The family interface (benchmarks/families/__init__.py), cached in CACHE_ROOT."""
    return detector_family.make_family(videos, classes, variant, seed, cache_dir=CACHE_ROOT)


def contrast(signals: Mapping[str, FamilySignals], videos: Mapping, classes: Sequence[str]) -> tuple[float, float]:
    """(inside, outside): mean probability of each instance's class over the snippets whose centres lie in
    its ground-truth instances, and over the other snippets of those videos, on the signal upsampled to T
    (``admfit.upsample_signal``, as the fit does). A trained detector separates them more."""
    inside, outside = [], []
    for video, found in signals.items():
        probs = upsample_signal(found.probs, found.num_snippets)
        centres_s = found.grid.snippet_to_seconds(np.arange(found.num_snippets))
        for c in sorted({instance.label for instance in videos[video].instances}):
            mine = np.zeros(found.num_snippets, dtype=bool)
            for instance in videos[video].instances:
                if instance.label == c:
                    mine |= (centres_s >= instance.start_s) & (centres_s <= instance.end_s)
            column = probs[:, list(classes).index(c)]
            inside.append(column[mine])
            outside.append(column[~mine])
    return float(np.concatenate(inside).mean()), float(np.concatenate(outside).mean())


def main(argv: Sequence[str] | None = None) -> int:
    """Build (or reuse) the variants on the 200 THUMOS'14 training videos and print their contrast."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m benchmarks.families.signals_detector", description=main.__doc__)
    parser.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK_VARIANTS)}")
    parser.add_argument("--seed", type=int, default=0, help="feature seed")
    args = parser.parse_args(argv)
    videos = thumos14("train")
    classes = class_names(videos)
    for variant in QUICK_VARIANTS if args.quick else VARIANTS:
        build = build_variant(list(videos), variant, args.seed, cache_dir=CACHE_ROOT)
        inside, outside = contrast(load_build(build, videos, classes), videos, classes)
        print(f"{variant}: built in {build.seconds:.1f} s ({build.cpu_seconds:.1f} s CPU); own-class probability "
              f"inside instances {inside:.3f}, outside {outside:.3f} (difference {inside - outside:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
