"""ActionFormer (a fully-supervised detector, the ``actionformer`` package) trained on admfit's exported labels,
against admfit's own models, on the ablation runner's data.

For each training seed: the ablation runner's ``default`` run (``benchmarks.ablations``: same data, sizes and run
folders, so runs are shared with ``python -m benchmarks ablations`` under the same ``--work``) is trained through
every stage, and its report gives the base and ADM-Loc main models' test mAP. Then one ActionFormer setting
(``admfit_torch.peer_training.RECIPE``, fixed and hashed) is trained, seeded by the seed, on the training videos
under the label files of ``benchmarks.peer_labels``, one per row: (a) the ground truth; (b) the pseudo-labels of the
default run's base model (``admfit export --to actionformer``); (c) (b) less its lowest-confidence quarter;
(b0) the fixed ADM defaults (``--tuning off``, what (b) was before self-tuning became the default) and (d) the
paper's ADM (``--paper``) on the same signals; (e) the clicks alone, each a 2 s segment centred on it (the
naive baseline). On request (``--rows``): (b) with one kind of error replaced by the truth (``truth_boundaries``,
``truth_merges``, ``truth_long``, ``truth_short``, ``truth_missed``: what each kind costs) and the second round
(``second_round``: ADM refitted on the signals of (b)'s ActionFormer through the ``actionformer`` detector
plug-in, then ActionFormer trained afresh on those labels). Beside them: admfit's base model, the same trained
for the main model's total epochs (2 x ``--epochs``, the base stage alone), and the ADM-Loc main model.

Each ActionFormer is detected on the test videos (its eval-mode
forward: NMS and the conversion to seconds of its ``postprocessing``, the numbers its ``valid_one_epoch``
collects) and scored with admfit's evaluator (``admfit_torch.run.scoring``, tIoU 0.1:0.7),
as the eval stage scores admfit's models.

Each ActionFormer run's scores are cached in ``WORK/peer_detector_runs.json`` under its generator, data folder,
row, seed, setting hash and a hash of the label file it trained on, so reruns and more seeds accumulate. The table
(mean +- std over seeds; "/ (a)": the row's AVG over (a)'s) is printed and written to
``WORK/peer_detector-<generator>-<N>videos-<setting hash>.json`` and ``.md``.

    python -m benchmarks peer_detector -- [--generator synthetic|independent | --data DIR] [--seeds N] [--quick]
        [--full] [--rows ROW ...] [--work DIR] [--af-set KEY=VALUE ...]

Needs the peer extra (``pip install 'admfit[peer]'``). ActionFormer runs on the CPU; its CPU seconds (process time,
training only) are printed per run.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from admfit_torch.peer_training import (
    actionformer_config,
    detect,
    epochs_text,
    longest_video,
    save_model,
    subset_name,
    train_actionformer,
)
from admfit_torch.peer_training import recipe as setting

from . import ablations, peer_labels

QUICK_SETTING = ("opt.warmup_epochs=2", "opt.epochs=10")
# row key -> (its label in the table, the maker of its label file: benchmarks.peer_labels)
ROWS = {
    "gt": ("(a) ActionFormer on the ground truth", peer_labels.ground_truth),
    "pseudo": ("(b) ActionFormer on admfit's pseudo-labels", peer_labels.pseudo),
    "fixed": ("(b0) ActionFormer on the fixed ADM defaults (--tuning off)", peer_labels.fixed),
    "confident": (f"(c) (b) less the lowest-confidence {peer_labels.CONFIDENT_QUANTILE:.0%}", peer_labels.confident),
    "paper": ("(d) ActionFormer on the paper's ADM (--paper)", peer_labels.paper),
    "clicks": (f"(e) ActionFormer on the clicks as {peer_labels.CLICK_WIDTH_S:g} s segments", peer_labels.clicks),
    **{f"truth_{kind}": (f"(b), {text}", peer_labels.truth_replaced(kind))
       for kind, text in peer_labels.ATTRIBUTED.items()},
    "cut": ("(b) cut at the neighbouring clicks (any class)", peer_labels.cut),
    "second_round": ("(b2) ADM refitted on (b)'s ActionFormer, trained again", None),
}
TABLE_ROWS = ("gt", "pseudo", "fixed", "confident", "paper", "clicks")  # the default --rows
ADMFIT_ROWS = ("admfit base model", "admfit base model, main's total epochs", "admfit main model (ADM-Loc)")
CACHE_NAME = "peer_detector_runs.json"


def score(document: dict, data: ablations.Data, test_subset: str) -> dict:
    """mAP (%) of the document against the test videos' ground truth, as the eval stage reports it."""
    from admfit.evaluation import THUMOS14_TIOUS
    from admfit_torch.run.report import detection_summary
    from admfit_torch.run.scoring import evaluate_detections

    result = evaluate_detections(data.annotations, test_subset, document, THUMOS14_TIOUS,
                                 videos=list(document["results"]))
    return detection_summary(result, sum(len(entries) for entries in document["results"].values()))


# ---- the cache ------------------------------------------------------------------------------------------------

def file_hash(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()[:10]


class Cache:
    """WORK/peer_detector_runs.json: {key: run record}, written after every run. Several benchmark processes may
    share a work folder (one per generator, say): each record is merged into the file as it is then, under a lock
    (``WORK/peer_detector_runs.json.lock``), so no process writes back another's records as it first read them."""

    def __init__(self, work: Path):
        self.path = work / CACHE_NAME

    def _read(self) -> dict:
        return json.loads(self.path.read_text(encoding="utf-8")) if self.path.is_file() else {}

    def get(self, key: str) -> dict | None:
        return self._read().get(key)

    def put(self, key: str, record: dict) -> None:
        import fcntl

        from admfit.files.atomic import atomic_write_text

        with open(self.path.with_name(self.path.name + ".lock"), "w", encoding="utf-8") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            runs = self._read()
            runs[key] = record
            atomic_write_text(self.path, json.dumps(runs, indent=1))


# ---- the benchmark --------------------------------------------------------------------------------------------

def admfit_rows(report: dict, cfg) -> dict:
    """The default run's base and main models: {row: (AVG, mAP@0.5, epochs)}."""
    base_epochs = f"{cfg.optim.epochs}"
    main_epochs = f"{cfg.optim.epochs}" + (f" (from base's {base_epochs})" if cfg.main.init == "base" else "")
    return {ADMFIT_ROWS[0]: (report["base"]["average"], report["base"]["by_tiou"]["0.5"], base_epochs),
            ADMFIT_ROWS[2]: (report["main"]["average"], report["main"]["by_tiou"]["0.5"], main_epochs)}


@dataclass
class Seed:
    """One training seed's runs: admfit's default run (``source``), the cache, and ActionFormer's config (made
    when first needed)."""

    args: argparse.Namespace
    work: Path
    seed: int
    cache: Cache
    fixed: dict
    source: peer_labels.Source
    log: Callable[[str], None]
    config: dict | None = None

    @property
    def family(self) -> str:
        return self.args.generator + (f"/{self.args.variant}" if self.args.variant else "")

    def key(self, row: str, *parts: str) -> str:
        return "|".join([self.family, self.source.data.annotations.parent.name, row, f"seed{self.seed}", *parts])

    def actionformer_config(self) -> dict:
        if self.config is None:
            _, names = peer_labels.vocabulary(self.source.data)
            self.config = actionformer_config(self.fixed, self.setting_folder / "actionformer.yaml", self.args.dim,
                                              len(names), longest_video(self.source.data.features))
        return self.config

    @property
    def setting_folder(self) -> Path:
        return self.source.folder / f"setting-{ablations.fingerprint(self.fixed)}"

    def checkpoint(self, row: str) -> Path:
        """Where the ActionFormer trained under ``row`` is kept (its EMA weights, as ``state_dict_ema``)."""
        return self.setting_folder / f"{row}-{self.source.stem}.pt"


def long_base(run: Seed) -> tuple[float, float, str]:
    """admfit's base model trained for the main model's total epochs (2 x ``--epochs``; the base stage of the
    default run at that length, the folder ``main_vs_base --epochs 2N`` uses), scored on the test videos."""
    from admfit_torch import RunLayout
    from admfit_torch.run.report import detection_summary
    from admfit_torch.run.request import detect_checkpoint, train_run

    args, data = run.args, run.source.data
    epochs = 2 * args.epochs
    key = run.key("admfit_base", f"{epochs}epochs")
    record = run.cache.get(key)
    if record is None:
        user_sets = ablations.admfit_sets(args, epochs)
        default = ablations.variant("default")
        cfg = ablations.run_config(data, args.config, ablations.run_overrides(default, run.seed, user_sets),
                                   args.device)
        run_dir = ablations.runs_root(run.work, data, args.config, user_sets) / f"seed{run.seed}" / default.name
        began = time.perf_counter()
        train_run(cfg, run_dir, ("base",), show_progress=False, log=lambda line: None)
        found = detect_checkpoint(RunLayout(run_dir).base_checkpoint, data.features, data.annotations,
                                  device=args.device)
        summary = detection_summary(found.score(), found.count)
        record = {"summary": summary, "epochs": f"{epochs}", "wall_seconds": round(time.perf_counter() - began, 1)}
        run.cache.put(key, record)
    run.log(f"seed {run.seed}: admfit base model, {epochs} epochs: AVG {record['summary']['average']:.1f}")
    return record["summary"]["average"], record["summary"]["by_tiou"]["0.5"], record["epochs"]


def label_file(run: Seed, row: str) -> Path:
    """The row's label file (benchmarks.peer_labels); the second round needs (b)'s trained ActionFormer."""
    if row != "second_round":
        return ROWS[row][1](run.source)
    checkpoint = run.checkpoint("pseudo")
    if not checkpoint.is_file():  # (b) was cached before checkpoints were kept: train it again
        train_row(run, "pseudo", peer_labels.pseudo(run.source))
    return peer_labels.second_round(run.source, checkpoint, run.setting_folder / "actionformer.yaml")


def train_row(run: Seed, row: str, labels: Path) -> dict:
    """ActionFormer trained on ``labels`` and scored on the test videos: the cache record."""
    config, data, cfg = run.actionformer_config(), run.source.data, run.source.cfg
    model, cpu, wall = train_actionformer(config, labels, data.features,
                                          subset_name(data.annotations, cfg.run.train_subset), run.seed)
    save_model(model, run.checkpoint(row))
    detecting = time.perf_counter()
    document = detect(model, config, labels, data.features, subset_name(data.annotations, cfg.run.test_subset))
    detected = time.perf_counter() - detecting
    return {"summary": score(document, data, cfg.run.test_subset), "cpu_seconds": round(cpu, 1),
            "wall_seconds": round(wall, 1), "detect_wall_seconds": round(detected, 1),
            "epochs": epochs_text(config), "label_file": str(labels), "setting": run.fixed}


def actionformer_row(run: Seed, row: str) -> tuple[float, float, str]:
    labels = label_file(run, row)
    key = run.key(row, ablations.fingerprint(run.fixed), file_hash(labels))
    record = run.cache.get(key)
    name = ROWS[row][0]
    if record is None:
        record = train_row(run, row, labels)
        run.cache.put(key, record)
        run.log(f"seed {run.seed}: {name}: AVG {record['summary']['average']:.1f}, mAP@0.5 "
                f"{record['summary']['by_tiou']['0.5']:.1f}; trained in {record['cpu_seconds']:.0f} CPU s "
                f"({record['wall_seconds']:.0f} s wall), test videos detected in {record['detect_wall_seconds']:.0f} s")
    else:
        run.log(f"seed {run.seed}: {name}: AVG {record['summary']['average']:.1f} (cached; trained in "
                f"{record['cpu_seconds']:.0f} CPU s)")
    return record["summary"]["average"], record["summary"]["by_tiou"]["0.5"], record["epochs"]


def run_seed(args, work: Path, data: ablations.Data, seed: int, cache: Cache, fixed: dict, log=print) -> dict:
    """One seed: admfit's default run, its base model at the main model's total epochs, and the ActionFormer rows
    of ``args.rows``; {row label: (AVG, mAP@0.5, epochs)}."""
    cfg, run_dir, report = ablations.default_run(args, work, data, seed, log)
    folder = work / "peer_detector" / data.annotations.parent.name
    folder.mkdir(parents=True, exist_ok=True)
    run = Seed(args, work, seed, cache, fixed, peer_labels.Source(data, cfg, run_dir, folder), log)
    rows = admfit_rows(report, cfg)
    records, _ = peer_labels.vocabulary(data)
    errors = peer_labels.census(peer_labels.refitted_rows(run.source), records)
    log(f"seed {seed}: the pseudo-labels' errors: {json.dumps(errors)}")
    if not args.no_long_base:
        rows[ADMFIT_ROWS[1]] = long_base(run)
    for row in dict.fromkeys([*TABLE_ROWS[:2], *args.rows]):  # (a) and (b): what every other row is read against
        rows[ROWS[row][0]] = actionformer_row(run, row)
    return rows


def table(per_seed: dict) -> list[dict]:
    """{seed: {row label: (AVG, mAP@0.5, epochs)}} -> rows with mean and sample std over the seeds."""
    labels = [ROWS[row][0] for row in ROWS] + list(ADMFIT_ROWS)
    rows = []
    for label in labels:
        cells = [seed_rows[label] for seed_rows in per_seed.values() if label in seed_rows]
        if not cells:
            continue
        rows.append({"label": label, "average": ablations.summarize([c[0] for c in cells]),
                     "map_0.5": ablations.summarize([c[1] for c in cells]), "epochs": cells[0][2],
                     "per_seed": {str(seed): seed_rows[label] for seed, seed_rows in per_seed.items()}})
    truth = next((row["average"]["mean"] for row in rows if row["label"] == ROWS["gt"][0]), None)
    for row in rows:
        row["over_gt"] = None if not truth else row["average"]["mean"] / truth
    return rows


def _cell(summary: dict) -> str:
    return f"{summary['mean']:.1f}" + (f" ± {summary['std']:.1f}" if summary["std"] is not None else "")


HEADER = ("", "AVG 0.1:0.7", "mAP@0.5", "epochs", "/ (a)")


def _cells(row: dict) -> list[str]:
    return [row["label"], _cell(row["average"]), _cell(row["map_0.5"]), row["epochs"],
            "" if row["over_gt"] is None else f"{row['over_gt']:.2f}"]


def render_text(rows: Sequence[dict]) -> str:
    width = max(len(row["label"]) for row in rows)
    lines = [f"{HEADER[0]:{width}s} {HEADER[1]:>12s} {HEADER[2]:>12s} {HEADER[3]:>22s} {HEADER[4]:>6s}"]
    for row in rows:
        label, *cells = _cells(row)
        lines.append(f"{label:{width}s} {cells[0]:>12s} {cells[1]:>12s} {cells[2]:>22s} {cells[3]:>6s}")
    return "\n".join(lines)


def render_markdown(rows: Sequence[dict], header: Sequence[str]) -> str:
    lines = [*header, "", "| " + " | ".join(HEADER) + " |", "|---" * len(HEADER) + "|"]
    lines += ["| " + " | ".join(_cells(row)) + " |" for row in rows]
    return "\n".join(lines) + "\n"


FULL_VIDEOS = 1000  # more than either THUMOS'14 subset holds: all of them
QUICK = {"seeds": 1, "videos": 20, "epochs": 20}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks peer_detector", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: 1 seed, 20 + 20 videos, admfit {QUICK['epochs']} epochs, ActionFormer "
                        + ", ".join(QUICK_SETTING))
    parser.add_argument("--seeds", type=int, default=None, help="training seeds 0..N-1 (default 3, --quick 1)")
    parser.add_argument("--videos", type=int, default=None, help="videos per subset (default 60)")
    parser.add_argument("--full", action="store_true", help="every video of the generator's data: THUMOS'14's 200 "
                        "training and 213 test videos (what a lent GPU runs)")
    parser.add_argument("--data", type=Path, default=None, help="a folder of your own, in the layout admfit synth "
                        "writes: features/VIDEO.npy, annotations.json, points.csv (admfit's config: --config)")
    parser.add_argument("--epochs", type=int, default=None, help="admfit's optim.epochs (default 30)")
    ablations.add_data_arguments(parser)
    parser.add_argument("--config", default="cpu-small", help="admfit's preset or YAML (the ablation runner's)")
    parser.add_argument("--af-set", action="append", default=[], metavar="KEY=VALUE",
                        help="override of the ActionFormer setting (e.g. opt.epochs=50; a new setting hash)")
    parser.add_argument("--rows", nargs="+", choices=list(ROWS), default=list(TABLE_ROWS),
                        help="the ActionFormer rows to run besides gt and pseudo (default: " + " ".join(TABLE_ROWS)
                        + "; the attribution rows truth_* and the second round second_round on request)")
    parser.add_argument("--no-long-base", action="store_true",
                        help="skip admfit's base model at the main model's total epochs")
    parser.add_argument("--device", default=None, help="admfit's device (ActionFormer runs on the CPU)")
    parser.add_argument("--work", type=Path, default=None, help="keep data, runs and the score cache here (default: "
                        "a new temporary folder, kept)")
    args = parser.parse_args(list(argv or []))
    defaults = QUICK if args.quick else ablations.DEFAULT
    for name in ("seeds", "videos", "epochs"):
        if getattr(args, name) is None:
            setattr(args, name, defaults[name])
    args.input_length = ablations.DEFAULT["input_length"]
    if args.full:
        args.videos = FULL_VIDEOS
    if args.data is not None:
        if args.generator != "synthetic" or args.variant is not None:
            parser.error("--data replaces --generator and --variant")
        args.generator = "data"
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")
    if args.generator == "independent":
        from admfit.synthetic.families.independent_features import DEFAULT_VARIANT

        args.variant = args.variant or DEFAULT_VARIANT
    elif args.variant is not None:
        parser.error("--variant applies to --generator independent only")
    if any("=" not in item for item in args.af_set):
        parser.error("--af-set wants KEY=VALUE")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    from admfit_torch.peer_actionformer import EXTRA, installed

    if not installed():
        print(f"error: peer_detector needs the ActionFormer package: {EXTRA}", file=sys.stderr)
        return 2
    from admfit.errors import InputError
    from admfit.files.atomic import atomic_write_text

    args = parse_args(argv)
    data = None
    if args.data is not None:  # checked before anything is written
        try:
            data, args.dim = ablations.user_data(args.data)
        except InputError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    work = args.work or Path(tempfile.mkdtemp(prefix="admfit-peer-detector-"))
    work.mkdir(parents=True, exist_ok=True)
    fixed = setting([*(QUICK_SETTING if args.quick else ()), *args.af_set])
    family = (f"data {args.data}" if data else args.generator + (f"/{args.variant}" if args.variant else ""))
    size = "" if data else (f", {args.videos} + {args.videos} videos (dim {args.dim}, data seed {args.data_seed})")
    settings = (f"{'' if data else 'generator '}{family}{size}, admfit {args.config} {args.epochs} epochs, seeds "
                f"0..{args.seeds - 1}, ActionFormer setting {ablations.fingerprint(fixed)}"
                + (f" ({', '.join([*(QUICK_SETTING if args.quick else ()), *args.af_set])})"
                   if args.quick or args.af_set else ""))
    print(f"peer_detector: {settings}\nwork: {work}\ncode: {ablations.code_version()}",
          flush=True)
    began = time.perf_counter()
    if data is None:
        data = ablations.make_data(work, args.videos, args.dim, args.data_seed, args.generator, args.variant)
    cache = Cache(work)
    per_seed = {seed: run_seed(args, work, data, seed, cache, fixed, log=lambda line: print(line, flush=True))
                for seed in range(args.seeds)}
    rows = table(per_seed)
    print(f"\n## {family}: test mAP (%), mean ± std over {args.seeds} seed(s)")
    print(render_text(rows))
    wall = time.perf_counter() - began
    print(f"({wall:.0f} s wall)", flush=True)
    command = "python -m benchmarks peer_detector -- " + " ".join(argv or [])
    # one table file per data family, size and setting: a --quick run leaves the default run's table alone
    stem = work / (f"peer_detector-{args.generator}{'-' + args.variant if args.variant else ''}-{args.videos}videos-"
                   f"{ablations.fingerprint(fixed)}")
    atomic_write_text(stem.with_suffix(".json"), json.dumps(
        {"command": command, "settings": settings, "setting": fixed, "rows_run": args.rows, "rows": rows,
         "wall_seconds": round(wall, 1)}, indent=1))
    atomic_write_text(stem.with_suffix(".md"), render_markdown(
        rows, [f"Command: `{command}`", "", f"Settings: {settings}"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
