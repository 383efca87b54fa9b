"""How much a plain linear read-out finds in a feature family: snippet-level probes on the ablations' data.

For each data family (``synthetic``: admfit synth; ``independent/VARIANT``:
admfit.synthetic.families.independent_features) the data of ``python -m benchmarks ablations`` (same cache, same
folder names) is read, every snippet labelled by the ground truth (the class of the instance its centre lies in, else
background), and two read-outs are fitted on the training videos' snippets and scored on the test videos' snippets:

- ``linear``: ridge regression on standardised features onto the targets (a linear probe in closed form);
- ``ncm``: nearest class mean by cosine on L2-normalised features.

Printed per family: action-vs-background accuracy and balanced accuracy (mean of the two recalls), class accuracy
among the test action snippets (20-way) with the majority-class rate beside it, and statistics of the test features
(exact zeros, negative values, lag-1 autocorrelation along time, spread of the channel means as their 90th / 10th
percentile, when positive). The probes are fitted on full ground truth, not on points: they say how separable the
features are, not how well the detector does.

``python -m benchmarks feature_probe -- [--videos 60] [--dim 64] [--data-seed 0] [--work DIR]``
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

FAMILIES = ("synthetic", "independent/medium", "independent/hard")
RIDGE = 1e-3  # ridge penalty per training snippet, on standardised features


def snippet_labels(record, num_snippets: int, classes: list[str]) -> np.ndarray:
    """-1 for background, else the class index of the (first listed) instance holding the snippet's centre."""
    from admfit.datasets import grid_for

    centres_s = grid_for(record, "thumos14_actionformer").snippet_to_seconds(np.arange(num_snippets))
    labels = np.full(num_snippets, -1, dtype=np.int64)
    for inst in reversed(record.instances):  # reversed: the first listed instance is written last and wins
        labels[(centres_s >= inst.start_s) & (centres_s <= inst.end_s)] = classes.index(inst.label)
    return labels


def load_subset(data, subset: str) -> tuple[list[np.ndarray], list[np.ndarray], list[str]]:
    """(features per video, labels per video, classes) of one subset of the data."""
    from admfit.datasets import FeatureStore, load_annotations
    from admfit.datasets.shipped import vocabulary

    with warnings.catch_warnings():  # 'train' read as 'Validation': expected here
        warnings.simplefilter("ignore")
        everything = load_annotations(data.annotations)
        records = load_annotations(data.annotations, subset=subset)
    classes = vocabulary(everything)
    features, labels = [], []
    with FeatureStore(data.features) as store:
        for video in sorted(records):
            array = np.asarray(store[video], dtype=np.float64)
            features.append(array)
            labels.append(snippet_labels(records[video], len(array), classes))
    return features, labels, classes


def ridge(x: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, std, weights with a bias row) of a ridge regression of ``targets`` on standardised ``x``."""
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-8
    z = np.hstack([(x - mean) / std, np.ones((len(x), 1))])
    gram = z.T @ z + RIDGE * len(x) * np.eye(z.shape[1])
    return mean, std, np.linalg.solve(gram, z.T @ targets)


def ridge_scores(model, x: np.ndarray) -> np.ndarray:
    mean, std, weights = model
    return np.hstack([(x - mean) / std, np.ones((len(x), 1))]) @ weights


def _unit(x: np.ndarray) -> np.ndarray:
    return x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-12)


def ncm(x: np.ndarray, groups: np.ndarray, names: np.ndarray) -> np.ndarray:
    """Unit class means (one row per name) of L2-normalised features."""
    return _unit(np.stack([_unit(x[groups == name]).mean(axis=0) for name in names]))


def balanced(truth: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.mean([np.mean(predicted[truth == value] == value) for value in np.unique(truth)]))


def feature_statistics(features: list[np.ndarray]) -> dict:
    stacked = np.concatenate(features)
    lag = []
    for array in features:
        a, b = array[:-1] - array.mean(axis=0), array[1:] - array.mean(axis=0)
        denominator = np.sqrt((a ** 2).sum(axis=0) * (b ** 2).sum(axis=0))
        lag.append(np.nanmean(np.where(denominator > 0, (a * b).sum(axis=0) / np.maximum(denominator, 1e-30), np.nan)))
    means = stacked.mean(axis=0)
    low, high = np.percentile(means, [10, 90])
    return {"zeros": float(np.mean(stacked == 0)), "negative": float(np.mean(stacked < 0)),
            "lag1": float(np.nanmean(lag)), "channel_mean_p90_p10": float(high / low) if low > 0 else None}


def probe(data) -> dict:
    """The read-outs of one data family, fitted on its training videos and scored on its test videos."""
    train_x, train_y, classes = load_subset(data, "train")
    test_x, test_y, _ = load_subset(data, "test")
    xa, ya, xb, yb = np.concatenate(train_x), np.concatenate(train_y), np.concatenate(test_x), np.concatenate(test_y)
    action_a, action_b = ya >= 0, yb >= 0
    binary = ridge(xa, action_a.astype(np.float64)[:, None])
    predicted = ridge_scores(binary, xb)[:, 0] > 0.5
    means = ncm(xa, action_a, np.array([False, True]))
    predicted_ncm = np.argmax(_unit(xb) @ means.T, axis=1).astype(bool)
    present = np.unique(ya[action_a])
    onehot = (ya[action_a][:, None] == present[None, :]).astype(np.float64)
    classifier = ridge(xa[action_a], onehot)
    by_class = present[np.argmax(ridge_scores(classifier, xb[action_b]), axis=1)]
    by_class_ncm = present[np.argmax(_unit(xb[action_b]) @ ncm(xa[action_a], ya[action_a], present).T, axis=1)]
    truth = yb[action_b]
    return {"train_snippets": int(len(xa)), "test_snippets": int(len(xb)), "action_fraction": float(action_b.mean()),
            "avb_linear": float(np.mean(predicted == action_b)), "avb_linear_balanced": balanced(action_b, predicted),
            "avb_ncm": float(np.mean(predicted_ncm == action_b)), "avb_ncm_balanced": balanced(action_b, predicted_ncm),
            "class_linear": float(np.mean(by_class == truth)), "class_ncm": float(np.mean(by_class_ncm == truth)),
            "class_majority": float(np.max(np.bincount(truth)) / len(truth)), "classes": len(classes),
            **feature_statistics(test_x)}


def describe(family: str, result: dict) -> str:
    r = result
    spread = "n/a (not all positive)" if r["channel_mean_p90_p10"] is None else f"{r['channel_mean_p90_p10']:.1f}"
    return (f"{family}\n"
            f"  action vs background: linear {r['avb_linear']:.3f} (balanced {r['avb_linear_balanced']:.3f}), "
            f"ncm {r['avb_ncm']:.3f} (balanced {r['avb_ncm_balanced']:.3f}); action share {r['action_fraction']:.3f}\n"
            f"  class of action snippets: linear {r['class_linear']:.3f}, ncm {r['class_ncm']:.3f} "
            f"(majority class {r['class_majority']:.3f})\n"
            f"  features: zeros {r['zeros']:.3f}, negative {r['negative']:.3f}, lag-1 autocorrelation {r['lag1']:.3f}, "
            f"channel means p90/p10 {spread}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks feature_probe", description=__doc__.splitlines()[0])
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=FAMILIES)
    parser.add_argument("--videos", type=int, default=60, help="videos per subset (default 60)")
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--data-seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=None, help="data cache (the ablations' --work); default: a "
                        "temporary folder")
    return parser.parse_args(list(argv or []))


def main(argv: Sequence[str] | None = None) -> dict:
    from benchmarks.ablations import make_data

    args = parse_args(argv)
    print(f"feature_probe: {args.videos} + {args.videos} videos, dim {args.dim}, data seed {args.data_seed}; "
          "snippet accuracy on the test videos", flush=True)
    temporary = None if args.work is not None else tempfile.mkdtemp(prefix="admfit-probe-")
    work = Path(temporary) if temporary else args.work
    work.mkdir(parents=True, exist_ok=True)
    results = {}
    try:
        for family in args.families:
            generator, _, variant = family.partition("/")
            data = make_data(work, args.videos, args.dim, args.data_seed, generator, variant or None)
            results[family] = probe(data)
            print(describe(family, results[family]), flush=True)
    finally:
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)
    return results


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
