"""ActionFormer (the PyPI ``actionformer`` package: ``pip install 'admfit[peer]'``) as an ``admfit.detectors`` plug-in:
a trained ActionFormer's per-level class scores become the signals ADM fits, so that ``admfit label --detector
actionformer`` pseudo-labels points with it (docs/training.md, "ActionFormer as a detector plug-in").

Factory arguments (text, from ``--detector-arg``):

* ``checkpoint``: a file of ActionFormer's ``train.py`` (``state_dict_ema`` is used when present, else
  ``state_dict``; the ``module.`` prefix of its DataParallel is dropped), or a bare state dict;
* ``config``: the ActionFormer YAML the model was trained with (read by ActionFormer's own ``load_config``);
* ``classes``: the class names in class-id order: ``thumos14``, ``anet12`` or a file, one name per line
  (ActionFormer stores ids only); default ``thumos14`` for a 20-class model;
* ``device``: ``cpu`` (default), ``cuda``, ``cuda:N``.

What admfit receives per video (admfit/detector.py):

* ``class_probs``: per pyramid level the sigmoid of ActionFormer's classification head. Trained with a focal loss
  against "this point is inside an action of class c", it is already the fused score of paper eq. 1.
* ``bg_probs``: ActionFormer has no background head; a snippet's background probability is 1 minus its highest
  class score (the snippet belongs to no action of any class).
* ``time_axis``: from ActionFormer's own down-sampling between levels, a max-pool of kernel s + 1, stride s and
  padding (s + 1) // 2 (s = ``model.scale_factor``): step j of level l sits on level-0 snippet j s^l, which is where
  its point generator puts it (``admfit.levels.Pyramid.from_layers``).
* ``grid``: the features' grid as given; it must have the stride and window the model was trained on
  (``dataset.feat_stride`` and ``dataset.num_frames`` of the config), else the video is refused.
"""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np

from admfit.datasets.features import checked_features
from admfit.detector import DetectorOutput
from admfit.errors import InputError
from admfit.grid import SnippetGrid
from admfit.levels import ConvLayer, Pyramid

EXTRA = "pip install 'admfit[peer]'"


def installed() -> bool:
    """Whether the ``actionformer`` package (the peer extra) imports."""
    try:
        _actionformer()
    except InputError:
        return False
    return True


def _actionformer():
    """The ``actionformer`` package, or InputError saying how to get it."""
    try:
        import actionformer.modeling  # noqa: F401  (registers the meta architectures)
        from actionformer.core import config
    except ImportError as error:
        raise InputError(f"the actionformer plug-in needs the ActionFormer package ({error}): {EXTRA}",
                         field="detector") from None
    return config


def load_actionformer_config(path) -> dict:
    """ActionFormer's config of a YAML file (its own ``load_config``, on a copy of its defaults, which it would
    otherwise change in place)."""
    config = _actionformer()
    path = Path(path)
    if not path.is_file():
        raise InputError("no such ActionFormer config file", file=str(path), field="config")
    try:
        return config.load_config(str(path), defaults=copy.deepcopy(config.DEFAULTS))
    except Exception as error:  # a YAML or key error of ActionFormer's loader: one line
        raise InputError(f"not an ActionFormer config ({type(error).__name__}: {error})", file=str(path),
                         field="config") from None


def _state_dict(path) -> dict:
    import torch

    path = Path(path)
    if not path.is_file():
        raise InputError("no such ActionFormer checkpoint", file=str(path), field="checkpoint")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise InputError(f"not a readable checkpoint ({type(error).__name__})", file=str(path),
                         field="checkpoint") from None
    if isinstance(state, dict):
        state = state.get("state_dict_ema", state.get("state_dict", state))
    if not isinstance(state, dict) or not all(isinstance(key, str) for key in state):
        raise InputError("holds no state dict of a model", file=str(path), field="checkpoint")
    return {key.removeprefix("module."): value for key, value in state.items()}


def _classes(source, count: int, checkpoint) -> list[str]:
    from admfit.datasets.shipped import load_class_list

    if source is None:
        if count != 20:
            raise InputError(f"the model has {count} classes: give their names (classes=FILE, one per line, in "
                             "class-id order)", file=str(checkpoint), field="classes")
        source = "thumos14"
    names = load_class_list(source)
    if len(names) != count:
        raise InputError(f"{len(names)} class names for a model of {count} classes", file=str(source),
                         field="classes")
    return names


def time_axis(scale_factor: int) -> Pyramid:
    """Where ActionFormer's level-l steps sit on level 0: its max-pool between levels (module docstring)."""
    return Pyramid.from_layers([ConvLayer(kernel=scale_factor + 1, stride=scale_factor,
                                          padding=(scale_factor + 1) // 2)])


class ActionFormerDetector:
    """Detector protocol over a trained ActionFormer (module docstring)."""

    def __init__(self, checkpoint, config, classes=None, device: str = "cpu"):
        import torch
        from actionformer.modeling import make_meta_arch

        self.config = load_actionformer_config(config)
        self.checkpoint = str(checkpoint)
        model_cfg = self.config["model"]
        try:
            self.model = make_meta_arch(self.config["model_name"], **model_cfg)
        except Exception as error:
            raise InputError(f"ActionFormer cannot build this model ({type(error).__name__}: {error})",
                             file=str(config), field="model") from None
        problems = self.model.load_state_dict(_state_dict(checkpoint), strict=False)
        if problems.missing_keys or problems.unexpected_keys:
            first = (problems.missing_keys or problems.unexpected_keys)[0]
            raise InputError(f"the checkpoint does not fit the config's model ({first!r})", file=self.checkpoint,
                             field="checkpoint")
        try:
            self.device = torch.device(device)
            self.model.to(self.device).eval()
        except (RuntimeError, ValueError) as error:
            raise InputError(f"cannot use device {device!r} ({' '.join(str(error).split())[:200]})",
                             field="device") from None
        self.classes = _classes(classes, int(model_cfg["num_classes"]), checkpoint)
        self.input_dim = int(model_cfg["input_dim"])
        self.axis = time_axis(int(model_cfg["scale_factor"]))

    def validate(self, features: np.ndarray) -> None:
        """InputError unless ``features`` are a finite (T, input_dim) array of real numbers."""
        checked_features(features, path=None, video=None)
        if np.shape(features)[1] != self.input_dim:
            raise InputError(f"expected (T, {self.input_dim}) features, got {np.shape(features)}: the ActionFormer "
                             f"of {self.checkpoint} takes {self.input_dim} channels (dataset.input_dim)", field="shape")

    def _check_grid(self, grid: SnippetGrid) -> None:
        dataset = self.config["dataset"]
        trained = (float(dataset["feat_stride"]), float(dataset["num_frames"]))
        if (float(grid.stride), float(grid.num_frames)) != trained:
            raise InputError(f"features on a grid of stride {grid.stride:g} / window {grid.num_frames:g} frames, but "
                             f"the model was trained on {trained[0]:g} / {trained[1]:g} (dataset.feat_stride, "
                             "dataset.num_frames): give --stride / --num-frames", field="grid")

    def level_scores(self, features: np.ndarray) -> list[np.ndarray]:
        """Per level, (T_l, C) float64 sigmoid scores of the valid steps (T_l = ceil(T / s^l))."""
        import torch

        self.validate(features)
        feats = torch.as_tensor(np.asarray(features, dtype=np.float32).T)
        video = [{"video_id": "", "feats": feats, "segments": None, "labels": None}]
        with torch.no_grad():
            inputs, masks = self.model.preprocessing(video)
            hidden, masks = self.model.backbone(inputs, masks)
            pyramid, pyramid_masks = self.model.neck(hidden, masks)
            logits = self.model.cls_head(pyramid, pyramid_masks)
        scores = []
        for level_logits, level_mask in zip(logits, pyramid_masks):
            valid = int(level_mask[0, 0].sum())
            scores.append(torch.sigmoid(level_logits[0, :, :valid].double()).T.cpu().numpy())
        return scores

    def predict(self, video: str, features: np.ndarray, grid: SnippetGrid) -> DetectorOutput:
        self._check_grid(grid)
        scores = self.level_scores(features)
        background = [1.0 - level.max(axis=1) for level in scores]
        return DetectorOutput(video, scores, background, grid, self.axis.theta, self.axis)


def make_detector(checkpoint, config, classes=None, device: str = "cpu") -> ActionFormerDetector:
    """Entry point ``actionformer = "admfit_torch.peer_actionformer:make_detector"`` of ``admfit.detectors``."""
    _actionformer()
    return ActionFormerDetector(checkpoint, config, classes, device)
