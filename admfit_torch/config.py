"""Configuration of the reference detector: pydantic models, loadable from YAML, with the paper's presets.

Every hyper-parameter of the ADM-Loc base model (paper 3.2, 3.3, 4.1) and every default that
docs/spec.md section 5 pins is a validated field here. Units: lengths in snippets (feature steps) of the
level they are used on; learning rates per iteration after warm-up; epochs count passes over the data.
"""
from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from admfit.errors import InputError
from admfit.fit.config import ADMConfig

# Caps of user-sized loops and allocations: past them a value is a typo (epochs: 1e23), not a plan.
MAX_EPOCHS = 100_000
MAX_BATCH = 65_536
MAX_INPUT_LENGTH = 1 << 20


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelConfig(_Strict):
    """Backbone (paper 3.2): conv embedding, local-attention transformer, pyramid, shared head."""

    input_dim: int = Field(2048, ge=1, description="feature channels D of the input (I3D two-stream: 2048)")
    embed_dim: int = Field(512, ge=4, description="channels of the embedding, transformer and head")
    embed_convs: int = Field(2, ge=1, le=8, description="temporal convolutions of the embedding")
    embed_kernel: int = Field(3, ge=1, le=31, description="kernel size (snippets) of the embedding convs; odd")
    num_heads: int = Field(4, ge=1, le=64)
    stem_blocks: int = Field(2, ge=0, le=16, description="local-attention blocks at full resolution")
    window: int = Field(19, ge=1, le=1025, description="local attention window (snippets, odd): 19 THUMOS, 7 ANet")
    levels: int = Field(4, ge=1, le=8, description="pyramid levels L")
    theta: int = Field(2, ge=2, le=8, description="down-sampling ratio between consecutive levels")
    mlp_ratio: int = Field(4, ge=1, le=16, description="hidden width of the block MLP / embed_dim")
    head_convs: int = Field(2, ge=0, le=8, description="hidden conv layers of the shared head")
    head_kernel: int = Field(3, ge=1, le=31)
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="dropout in attention and MLP")
    class_prior: float = Field(0.01, gt=0.0, lt=1.0, description="initial class probability (bias init)")
    background_prior: float = Field(0.5, gt=0.0, lt=1.0, description="initial background probability")

    @model_validator(mode="after")
    def _odd_and_divisible(self) -> "ModelConfig":
        for name in ("window", "embed_kernel", "head_kernel"):
            if getattr(self, name) % 2 == 0:
                raise ValueError(f"{name} must be odd (centred on the snippet), got {getattr(self, name)}")
        if self.embed_dim % self.num_heads:
            raise ValueError(f"embed_dim {self.embed_dim} is not divisible by num_heads {self.num_heads}")
        return self

    @property
    def total_stride(self) -> int:
        """Input lengths are padded to a multiple of this (snippets) so every level divides evenly."""
        return self.theta ** (self.levels - 1)


class LossConfig(_Strict):
    """Base-model losses (paper eqs. 2-7) and the defaults docs/spec.md section 5 pins."""

    augment_radius: float = Field(2.0, ge=0.0, description="r_a: snippets on each level around each point")
    mil_topk_divisor: int = Field(8, ge=1, description="MIL top-k: k = max(1, T_l // divisor)")
    focal_gamma: float = Field(2.0, ge=0.0, description="gamma of L_Act and L_BG")
    background_threshold: float = Field(0.95, ge=0.0, le=1.0, description="p_bg >= this -> background point")
    background_selection: Literal["gaps", "threshold"] = Field(
        "gaps", description="gaps: POTLoc's rule, at least one background point between consecutive points (the most "
        "background-like snippet when none passes the threshold); threshold: only snippets past the threshold")
    lambda_mil: float = Field(1.0, ge=0.0)
    lambda_act: float = Field(1.0, ge=0.0)
    lambda_bg: float = Field(1.0, ge=0.0)


class DataConfig(_Strict):
    """Snippet grid and fixed input length (paper 4.1, docs/spec.md section 3 and 5)."""

    grid: Literal["thumos14_actionformer", "thumos14_lacp", "anet12", "spread"] = Field(
        "thumos14_actionformer", description="snippet grid preset of admfit.datasets.grid_for (docs/spec.md "
        "section 3), or 'spread': the T feature rows cover the video's duration evenly (features already resized, e.g. to 192)")
    stride: float | None = Field(None, gt=0, description="frames between snippets; None: the grid preset's")
    num_frames: float | None = Field(None, ge=0, description="frames per snippet window; None: the preset's")
    input_length: int = Field(2304, ge=8, le=MAX_INPUT_LENGTH, description="snippets per training sample: 2304 THUMOS, 192 ANet")
    length_mode: Literal["crop", "resize"] = Field(
        "crop", description="crop: random crop / pad (THUMOS); resize: linear interpolation to input_length (ANet)")
    min_points_kept: float = Field(0.7, ge=0.0, le=1.0, description="random crops retry until this share of points stays")
    crop_retries: int = Field(200, ge=1, le=10000, description="random crops tried (ActionFormer: 200)")
    short_crop_min: float = Field(0.9, gt=0.0, le=1.0, description="short videos are cropped to [this, 1] of their length")


class OptimConfig(_Strict):
    optimizer: Literal["adam", "adamw"] = "adam"
    lr: float = Field(1e-4, gt=0.0)
    weight_decay: float = Field(0.0, ge=0.0)
    epochs: int = Field(100, ge=1, le=MAX_EPOCHS)
    warmup_epochs: int = Field(10, ge=0, le=MAX_EPOCHS)
    schedule: Literal["constant", "cosine"] = Field("constant", description="after the linear warm-up")
    grad_clip: float | None = Field(None, gt=0.0, description="clip gradients to this L2 norm; None: no clipping")
    ema_decay: float = Field(0.999, ge=0.0, lt=1.0)
    ema_warmup: bool = Field(True, description="decay min(ema_decay, (1 + n) / (10 + n)) at update n, so short "
                             "runs do not keep the random init")
    batch_size: int = Field(3, ge=1, le=MAX_BATCH, description="videos per step on each process")

    @model_validator(mode="after")
    def _warmup_fits(self) -> "OptimConfig":
        if self.warmup_epochs > self.epochs:
            raise ValueError(f"warmup_epochs {self.warmup_epochs} exceeds epochs {self.epochs}")
        return self


class NMSMethod(str, Enum):
    hard = "hard"
    soft = "soft"


class LevelFusion(str, Enum):
    """How the pyramid levels' scores become proposals (docs/spec.md 4.2). ``pool``: the paper's wording, proposals
    from every level separately, pooled before NMS; ``mean``: the levels' fused scores and actionness upsampled to
    level 0 and averaged first, proposals from that one signal (docs/detector.md 4c has the measurements)."""

    pool = "pool"
    mean = "mean"


class InferenceConfig(_Strict):
    """Post-processing (docs/spec.md section 4)."""

    class_threshold: float = Field(0.7, ge=0.0, le=1.0, description="keep classes with video score >= this; else the top one")
    topk_divisor: int = Field(8, ge=1, description="video score: mean of top max(1, T_l // divisor) per level")
    class_score_thresholds: tuple[float, ...] = Field(
        (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9), description="sweep on the fused class score")
    actionness_thresholds: tuple[float, ...] = Field(
        (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9), description="sweep on 1 - p_bg")
    oic_lambda: float = Field(0.25, ge=0.0, description="flank length / segment length")
    oic_gamma: float = Field(0.2, ge=0.0, description="weight of the video-level class score")
    # mean is the default: it won on both feature generators by their worst case (docs/detector.md 4c).
    level_fusion: LevelFusion = Field(LevelFusion.mean, description="mean: levels averaged on level 0 first, proposals "
                                      "from the mean; pool: proposals of every level pooled (the paper)")
    nms: NMSMethod = NMSMethod.hard
    nms_iou: float = Field(0.45, gt=0.0, le=1.0)
    soft_nms_sigma: float = Field(0.5, gt=0.0, description="Gaussian soft-NMS decay")
    soft_nms_min_score: float = Field(1e-3, ge=0.0)
    top_n: int | None = Field(None, ge=1, description="proposals kept per video; None: all")

    @model_validator(mode="after")
    def _thresholds_in_range(self) -> "InferenceConfig":
        for name in ("class_score_thresholds", "actionness_thresholds"):
            if any(not 0.0 <= value <= 1.0 for value in getattr(self, name)):
                raise ValueError(f"{name} must lie in [0, 1]")
        return self


class MainConfig(_Strict):
    """The ADM-Loc main model (paper 3.4.2): pseudo-label sampling, the sigma head, Gaussian imposition (eq. 18).

    Radii are in level-l snippets, as ``loss.augment_radius``; sigmas in level-0 snippets of the model input.
    """

    sampling_radius: float | None = Field(
        2.0, gt=0.0, description="r_s: L_Act positives lie within this radius of each point AND inside its pseudo-label "
        "interval; null (or inf) = the whole interval (no sampling, the r_s = inf row of Table 5)")
    background_outside_intervals: bool = Field(
        True, description="choose L_BG's background points outside the whole pseudo-label intervals (not only outside "
        "the sampled positives), so the main model never learns background inside its own pseudo-labels")
    sigma_head: bool = Field(True, description="train the sigma-regression head (eq. 14); false: the Gaussian kernels "
                             "of L_G use the pseudo-label sigmas instead of predicted ones")
    sigma_samples: int | None = Field(
        None, ge=2, le=4096, description="K: features sampled in each interval; null = the median pseudo-label "
        "interval length on level 1, rounded up (docs/spec.md 5.7)")
    sigma_scale_quantile: float = Field(
        0.95, gt=0.0, le=1.0, description="the sigma head's output scale: this quantile of the pseudo-label sigmas; "
        "larger sigmas are clipped to it. 1 = the largest sigma (docs/spec.md 5.7 literally), which one runaway ADM "
        "fit can make thousands of snippets wide (docs/detector.md 3b)")
    sigma_convs: int = Field(2, ge=1, le=8, description="temporal convolutions of the sigma head")
    sigma_kernel: int = Field(3, ge=1, le=31, description="their kernel size (odd)")
    # base is the default: the main model scored higher from the base model's weights on both feature generators
    # at the same cost (docs/ablations.md "Warm start"); the paper does not say.
    init: Literal["scratch", "base"] = Field(
        "base", description="the main model's initial weights: base (the base model's EMA weights; the sigma head "
        "fresh) or scratch (fresh, from the seed)")
    lambda_gauss: float = Field(1.0, ge=0.0, description="lambda_G of eq. 18 (0 turns L_G off)")
    lambda_sigma: float = Field(1.0, ge=0.0, description="lambda_sigma of eq. 18")

    @field_validator("sampling_radius", mode="before")
    @classmethod
    def _infinite_is_none(cls, value):
        if isinstance(value, str) and value.strip().lower() in ("inf", "infinity", ".inf", "none", "null"):
            return None
        if isinstance(value, float) and value == float("inf"):
            return None
        return value

    @model_validator(mode="after")
    def _odd_kernel(self) -> "MainConfig":
        if self.sigma_kernel % 2 == 0:
            raise ValueError(f"sigma_kernel must be odd, got {self.sigma_kernel}")
        return self


class RunConfig(_Strict):
    """Where the data of ``admfit-torch train`` comes from (the command's --features/--annotations/--points override)
    and how it is evaluated. Relative paths are relative to the working directory."""

    features: str | None = Field(None, description="folder of <video>.npy (T, D) features, an .npz or an HDF5 file")
    annotations: str | None = Field(None, description="ActivityNet-style annotation JSON (subsets, fps, ground truth), "
                                    "or thumos14 (the shipped file)")
    points: str | None = Field(None, description="point labels of the training videos (LACP / ActivityNet CSV, SF-Net), "
                               "or thumos14 / anet12 (the shipped files)")
    train_subset: str = Field("train", description="subset trained on and pseudo-labelled (exact name; 'train' and "
                              "'test' also read THUMOS'14's Validation / Test and ActivityNet's training / validation, "
                              "with a note)")
    test_subset: str = Field("test", description="subset evaluated")
    videos: str | None = Field(None, description="text file of video ids, one per line: only these videos are used "
                               "(training and test); null: every video of the subsets")
    skip_missing_features: bool = Field(False, description="skip the videos without features (counted, and listed in "
                                        "RUN/skipped_videos.txt) instead of refusing the run")
    allow_overlap: bool = Field(False, description="allow training and test videos to overlap (refused otherwise)")
    classes: str | None = Field(None, description="class vocabulary in class-id order: thumos14, anet12 or a file "
                                "(one name per line); null: the dataset's (THUMOS'14's 20, ActivityNet-1.2's 100, "
                                "else every label of the annotation file)")
    fps: str | None = Field(None, description="the features' fps per video (the rate their frames were counted "
                            "at): thumos14 (the shipped native table) or a JSON {video: fps}; overrides the "
                            "annotation file's (LACP's gt.json has none)")
    points_fps: str = Field("thumos14", description="each video's native fps, for the frame indices of a LACP click "
                            "file (admfit.datasets.rates): thumos14 (the shipped table), a JSON {video: fps}, or "
                            "'annotations' (the annotation file's fps, after run.fps, are the native rates); never "
                            "guessed: a clicked video without one is refused")
    tious: str = Field("thumos14", description="tIoU thresholds of the report: thumos14, anet, START:STOP:STEP or A,B,C")
    figures: int = Field(2, ge=0, le=50, description="training videos drawn in the report (admfit plot)")

    @field_validator("tious")
    @classmethod
    def _readable_tious(cls, value: str) -> str:
        from admfit.evaluation import parse_tious

        parse_tious(value)  # raises ValueError with a message for the user
        return value


class DetectorConfig(_Strict):
    """Everything one training run needs: the detector, its training, the ADM pseudo-labels and the run's data."""

    seed: int = Field(0, ge=0, le=2**63 - 1)
    device: str = Field("auto", pattern=r"^(auto|cpu|mps|cuda(:\d{1,3})?)$",
                        description="'auto' (CUDA when present), 'cpu', 'cuda' or 'cuda:N'")
    amp: bool = Field(True, description="mixed precision on CUDA (ignored on CPU)")
    amp_dtype: Literal["bfloat16", "float16"] = "bfloat16"
    model: ModelConfig = ModelConfig()
    loss: LossConfig = LossConfig()
    data: DataConfig = DataConfig()
    optim: OptimConfig = OptimConfig()
    inference: InferenceConfig = InferenceConfig()
    adm: ADMConfig = Field(ADMConfig(), description="the ADM fit of the pseudo-label stage (admfit.ADMConfig; by "
                           "default tuning 'auto': chosen by the labels' boundary contrast, docs/adm.md 'Self-tuning'; "
                           "adm.tuning=off: the fixed defaults); 'paper' = ADMConfig.paper(), the paper's method; "
                           "'auto' = ADMConfig()")
    main: MainConfig = MainConfig()
    run: RunConfig = RunConfig()

    @field_validator("adm", mode="before")
    @classmethod
    def _paper_by_name(cls, value):
        named = {"paper": ADMConfig.paper, "auto": lambda: ADMConfig(tuning="auto")}
        return named[value]() if isinstance(value, str) and value in named else value


PRESETS: dict[str, dict] = {
    # paper 4.1: THUMOS'14, stride 4, input 2304, window 19, 100 epochs (10 warm-up), batch 3
    "thumos14": {},
    # paper 4.1: ActivityNet-1.2, stride 16, input 192 by interpolation, window 7, 50 epochs (5), batch 64;
    # reported at tIoU 0.5:0.95 (step 0.05), the paper's Table 1
    "anet12": {
        "model": {"window": 7},
        "data": {"grid": "anet12", "input_length": 192, "length_mode": "resize"},
        "optim": {"epochs": 50, "warmup_epochs": 5, "batch_size": 64},
        "run": {"tious": "anet"},
    },
    # tests and the quick benchmark: small enough for two CPU cores
    "cpu-small": {
        "amp": False,
        "model": {"input_dim": 64, "embed_dim": 32, "num_heads": 2, "stem_blocks": 1, "window": 9, "levels": 3,
                  "head_convs": 1},
        "data": {"input_length": 128},
        "optim": {"lr": 1e-3, "epochs": 20, "warmup_epochs": 2, "batch_size": 4},
    },
}


def _merge(base: dict, override: dict) -> dict:
    merged = dict(base)
    for key, value in override.items():
        merged[key] = _merge(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return merged


def _validated(raw: dict, source: str) -> DetectorConfig:
    try:
        return DetectorConfig.model_validate(raw)
    except ValidationError as error:
        raise InputError.from_validation(error, file=source) from None


def preset(name: str, **overrides) -> DetectorConfig:
    """A named preset (``thumos14``, ``anet12``, ``cpu-small``) with nested ``overrides`` merged in."""
    if name not in PRESETS:
        raise InputError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}", field="config")
    return _validated(_merge(PRESETS[name], overrides), f"preset {name}")


def load_config(source: str | Path) -> DetectorConfig:
    """A YAML file (optionally ``preset: NAME`` plus overrides) or a preset name."""
    if str(source) in PRESETS and not Path(source).exists():
        return preset(str(source))
    path = Path(source)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise InputError("config file not found", file=str(path), field="config") from None
    except yaml.YAMLError as error:
        raise InputError(f"not valid YAML ({str(error).splitlines()[0]})", file=str(path), field="config") from None
    except UnicodeDecodeError:
        raise InputError("not a UTF-8 text file", file=str(path), field="config") from None
    except IsADirectoryError:
        raise InputError("is a directory, expected a YAML file or a preset name", file=str(path),
                         field="config") from None
    if not isinstance(raw, dict):
        raise InputError("expected a mapping at the top level", file=str(path), field="config")
    base_name = raw.pop("preset", None)
    if base_name is not None:
        if not isinstance(base_name, str) or base_name not in PRESETS:
            raise InputError(f"unknown preset {base_name!r}; known: {', '.join(PRESETS)}", file=str(path),
                             field="preset")
        raw = _merge(PRESETS[base_name], raw)
    return _validated(raw, str(path))


def dump_config(config: DetectorConfig) -> str:
    """YAML text that load_config reads back to an equal config."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)


def with_overrides(cfg: DetectorConfig, overrides: list[str], *, source: str = "--set") -> DetectorConfig:
    """Apply ``KEY.PATH=VALUE`` overrides (values parsed as YAML) and validate the result."""
    if not overrides:
        return cfg
    raw = cfg.model_dump(mode="json")
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InputError(f"expected KEY=VALUE, got {item!r}", file=source, field="--set")
        *parents, leaf = key.split(".")
        nested: dict = {}
        cursor = nested
        for part in parents:
            cursor = cursor.setdefault(part, {})
        try:
            cursor[leaf] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise InputError(f"value {value!r} is not valid YAML", file=source, field=key) from None
        raw = _merge(raw, nested)
    return _validated(raw, source)
