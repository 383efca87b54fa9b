"""ActionFormer (the PyPI ``actionformer`` package: ``pip install 'admfit[peer]'``) trained on admfit's labels and
run on test videos: the packaged recipe (``RECIPE``), the config filled from the data (``actionformer_config``),
training (``train_actionformer``) and detection (``detect``), as ``benchmarks.peer_detector`` runs them
(docs/training.md, "ActionFormer trained on admfit's labels"); ``save_model`` writes what the ``actionformer``
detector plug-in reads.

ActionFormer reads its labels as the annotation file ``admfit export --to actionformer --features FEATURES``
writes (admfit.files.export) and its features as a folder of ``VIDEO.npy``. torch and actionformer load inside the
functions.
"""
from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import yaml

from admfit.files.atomic import atomic_open, atomic_write_text
from admfit_torch.peer_actionformer import load_actionformer_config

# The one ActionFormer setting: ActionFormer's THUMOS'14 recipe (configs/thumos_i3d.yaml: window 19, 6 levels,
# trunc_thresh 0.5, crop_ratio 0.9-1, AdamW with weight decay 0.05, linear warm-up then cosine, gradient clip 1,
# init_loss_norm 100, its test_cfg) narrowed to 64-D synthetic features and 2 CPU cores: widths 64 instead of 512,
# max_seq_len 576 (the smallest that window 19 on 6 levels allows: 32 * 18) instead of 2304, lr 1e-3 for batch 4.
# input_dim, num_classes and max_buffer_len_factor come from the data (the buffer must hold the longest test video).
# Widths 64 rather than 128, so that three seeds of every row on both generators fit in about an hour on 2 cores
# (114 s wall a training against 221 s on seed 0): over 3 seeds ground truth still beats admfit's main model by 10
# and 15, but widths 128 score 4-6 more on both the truth and the pseudo-labels (docs/training.md, "ActionFormer
# trained on admfit's labels").
RECIPE = """\
dataset_name: thumos
model_name: LocPointTransformer
dataset:
  feat_stride: 4       # admfit's THUMOS'14 grid (data.grid thumos14_actionformer): 16-frame windows every 4 frames
  num_frames: 16
  default_fps: null    # each video's fps from the JSON
  max_seq_len: 576
  trunc_thresh: 0.5
  crop_ratio: [0.9, 1.0]
model:
  backbone_type: convTransformer
  fpn_type: identity
  backbone_arch: [2, 2, 5]
  scale_factor: 2
  regression_range: [[0, 4], [4, 8], [8, 16], [16, 32], [32, 64], [64, 10000]]
  n_head: 4
  n_mha_win_size: 19
  embd_dim: 64
  fpn_dim: 64
  head_dim: 64
  use_abs_pe: false
train_cfg:
  init_loss_norm: 100
  clip_grad_l2norm: 1.0
  center_sample: radius
  center_sample_radius: 1.5
  droppath: 0.1
opt:
  type: AdamW
  learning_rate: 0.001
  weight_decay: 0.05
  warmup: true
  warmup_epochs: 5
  epochs: 25           # after the warm-up: 30 passes in all
  schedule_type: cosine
loader:
  batch_size: 4
test_cfg:
  voting_thresh: 0.7
  pre_nms_topk: 2000
  max_seg_num: 200
  min_score: 0.001
  multiclass_nms: true
"""
# ActionFormer keeps an EMA of the weights (decay 0.999) and evaluates it; over the few hundred iterations here it
# would still hold much of the initial weights, so its decay is warmed up as admfit's (optim.ema_decay 0.999,
# optim.ema_warmup: min(0.999, (1 + n) / (10 + n)) at update n; admfit_torch.train.ema_update).
EMA_DECAY = 0.999


# ---- the config -----------------------------------------------------------------------------------------------

def recipe(overrides: Sequence[str] = ()) -> dict:
    """RECIPE with ``KEY.SUB=VALUE`` overrides (VALUE read as YAML)."""
    config = yaml.safe_load(RECIPE)
    for item in overrides:
        key, _, value = item.partition("=")
        *parents, leaf = key.strip().split(".")
        node = config
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = yaml.safe_load(value)
    return config


def actionformer_config(fixed: dict, path: Path, input_dim: int, num_classes: int, longest: int) -> dict:
    """ActionFormer's full config of ``fixed`` with the data's sizes (input_dim, num_classes, and a buffer that
    holds the ``longest`` video, in feature steps), written as YAML to ``path`` and read back by ActionFormer's loader
    (its defaults filled in: admfit_torch.peer_actionformer.load_actionformer_config)."""
    config = json.loads(json.dumps(fixed))
    config["dataset"].update(input_dim=input_dim, num_classes=num_classes)
    max_seq_len = config["dataset"]["max_seq_len"]
    config["model"]["max_buffer_len_factor"] = max(6.0, float(-(-longest // max_seq_len)))
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, yaml.safe_dump(config), field="actionformer_config")
    return load_actionformer_config(path)


def passes(config: dict) -> int:
    """Passes over the training videos: ActionFormer's ``opt.warmup_epochs`` (when ``opt.warmup``) + ``opt.epochs``."""
    opt = config["opt"]
    return opt["epochs"] + (opt["warmup_epochs"] if opt["warmup"] else 0)


def epochs_text(config: dict) -> str:
    opt = config["opt"]
    return f"{opt['warmup_epochs']}+{opt['epochs']}" if opt.get("warmup") else f"{opt['epochs']}"


def longest_video(features: Path, videos: Iterable[str] | None = None) -> int:
    """The most feature steps of a ``VIDEO.npy`` in ``features`` (of ``videos``; None: every file)."""
    import numpy as np

    paths = features.glob("*.npy") if videos is None else (features / f"{video}.npy" for video in videos)
    return max(np.load(path, mmap_mode="r").shape[0] for path in paths)


# ---- training and detection -----------------------------------------------------------------------------------

def dataset(config: dict, label_file: Path, features: Path, subset: str, training: bool):
    """ActionFormer's own THUMOS'14 dataset over ``label_file``: the videos of ``subset`` (its name, lower case)."""
    from actionformer.datasets import make_dataset

    database = json.loads(label_file.read_text(encoding="utf-8"))["database"]
    # it asserts num_classes == the labels it finds in the file; the model keeps the whole vocabulary
    found = {a["label"] for record in database.values() for a in record["annotations"]}
    options = {**config["dataset"], "num_classes": len(found), "json_file": str(label_file),
               "feat_folder": str(features), "file_prefix": None, "file_ext": ".npy"}
    return make_dataset(config["dataset_name"], training, (subset.lower(),), **options)


def train_actionformer(config: dict, label_file: Path, features: Path, train_subset: str, seed: int,
                       device: str = "cpu"):
    """The EMA model after training on ``label_file``'s ``train_subset`` videos on ``device``; its CPU and wall
    seconds."""
    import torch
    from actionformer.datasets.data_utils import trivial_batch_collator
    from actionformer.modeling import make_meta_arch
    from actionformer.utils import (
        ModelEma,
        fix_random_seed,
        make_optimizer,
        make_scheduler,
    )

    began, cpu = time.perf_counter(), time.process_time()
    generator = fix_random_seed(seed, include_cuda=False)
    data = dataset(config, label_file, features, train_subset, True)
    loader = torch.utils.data.DataLoader(data, batch_size=config["loader"]["batch_size"], shuffle=True,
                                         drop_last=True, collate_fn=trivial_batch_collator, generator=generator,
                                         num_workers=0)
    model = make_meta_arch(config["model_name"], **config["model"]).to(device)
    optimizer = make_optimizer(model, config["opt"])
    scheduler = make_scheduler(optimizer, config["opt"], len(loader))
    ema = ModelEma(model, decay=EMA_DECAY)
    clip = config["train_cfg"]["clip_grad_l2norm"]
    updates = 0
    model.train()
    # ActionFormer's losses are TorchScript functions: the optimizing executor fuses them after its first calls in
    # a process, which rounds differently, so a model trained first in a process differed (1e-7 after two passes,
    # growing with training) from the same one trained later; unoptimized, every training is the same.
    with torch.jit.optimized_execution(False):
        for _ in range(passes(config)):  # train_utils.train_one_epoch without its printing (torch.cuda.synchronize)
            for batch in loader:
                ema.decay = min(EMA_DECAY, (1 + updates) / (10 + updates))  # warmed up as admfit's EMA
                train_step(model, batch, optimizer, scheduler, ema, clip)
                updates += 1
    return ema.module.eval(), time.process_time() - cpu, time.perf_counter() - began


def train_step(model, batch, optimizer, scheduler, ema, clip: float) -> None:
    """ActionFormer's train_one_epoch step on ``batch`` (a list of its dataset's items), without its printing:
    forward and losses, backward, clipping (``clip`` > 0), optimizer, schedule, the EMA's update."""
    import torch

    optimizer.zero_grad(set_to_none=True)
    losses = model(batch)
    losses["final_loss"].backward()
    if clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimizer.step()
    scheduler.step()
    ema.update(model)


def save_model(model, path: Path) -> None:
    """The weights as the ``actionformer`` plug-in reads them: ``{"state_dict_ema": ...}``, written atomically."""
    import torch

    with atomic_open(path, "wb", field="checkpoint") as handle:
        torch.save({"state_dict_ema": model.state_dict()}, handle)


def detect(model, config: dict, label_file: Path, features: Path, test_subset: str,
           videos: Iterable[str] | None = None) -> dict:
    """The ActivityNet results document of ``model`` on the test videos (of ``videos``; None: all): what
    ``valid_one_epoch`` collects (its forward in eval mode: NMS, then feature grid -> seconds in ``postprocessing``),
    class ids -> names of the file."""
    import torch

    data = dataset(config, label_file, features, test_subset, False)
    names = {label_id: label for label, label_id in data.label_dict.items()}
    kept = None if videos is None else set(videos)
    results = {}
    with torch.no_grad():
        for index in range(len(data)):
            if kept is not None and data.data_list[index]["id"] not in kept:
                continue
            (found,) = model([data[index]])
            results[found["video_id"]] = [
                {"segment": [float(start), float(end)], "label": names[int(label)], "score": float(score)}
                for (start, end), label, score in zip(found["segments"].tolist(), found["labels"].tolist(),
                                                      found["scores"].tolist())]
    return {"version": "actionformer", "results": results}


def subset_name(annotations, subset: str, fps=None) -> str:
    """The subset's name in the annotation file (``train`` and ``test`` are aliases of THUMOS'14's)."""
    from admfit.datasets.shipped import open_annotations

    return next(iter(open_annotations(annotations, subset=subset, fps=fps).values())).subset
