"""A second THUMOS'14-shaped feature family, designed apart from ``admfit.synthetic.features`` (``admfit synth``):
I3D-like features on the real THUMOS'14 annotations and the real (LACP) point labels.

The model: how the features encode the video
=============================================

**Time.** A video of ``duration`` s at its native ``fps`` is cut into *chunks* of ``stride`` = 4 frames (chunk
``c`` covers frames ``[4c, 4c + 4)``, centre ``(4c + 2) / fps`` s). Snippet ``i`` (the ActionFormer grid: 16 frames
every 4) covers chunks ``i .. i + 3`` and its feature is the **mean of their activations**, as I3D's temporal
average pooling does; neighbouring snippets share 3 of their 4 chunks, which is where the strong temporal
autocorrelation comes from. ``T`` = the number of whole 16-frame windows (``admfit.datasets.checks``).

**Activations.** Chunk ``c`` has a pre-activation ``h_c`` in ``R^D`` and an activation
``x_c = g * relu(h_c) ** gamma``: ``g`` a per-channel gain (log-normal, fixed for the data set: channel means
differ by orders of magnitude), ``gamma > 1`` heavy tails, the ReLU non-negative, sparse features. Channels
``[0, D/2)`` are "RGB" (appearance), ``[D/2, D)`` "flow" (motion). ::

    h_c = b + sum_k z_{c,k} L_k + o_shot(c) + e_c

``b < 0`` a per-channel bias (a channel fires only when a factor drives it), ``L_k`` the loading ("concept")
of latent factor ``k``: a sparse vector, mostly positive, RMS ``sqrt(density)`` over the channels (active entries
about 1), with an RGB half and a flow half; ``o_shot`` a per-shot offset (camera cuts shift every channel
abruptly); ``e_c`` white noise per chunk (made temporally smooth by the 4-chunk pooling).

**Latent factors** ``z`` (all drawn from the seed; the loadings once per data set and ``D``):

- *Scene* (RGB-heavy). Venues (stadium, pool, court, ...; ``CLASS_VENUES``) plus generic scenes. A video's home
  scene is its first action's venue with probability ``p_home_venue`` (else any scene), jittered per video
  (another gym, another field). A video is a sequence of *shots* (cuts a Poisson process, mean ``shot_mean_s``);
  a shot shows the home scene or, with ``insert_prob``, an insert (crowd, close-up, studio) and has its own
  weight, offset ``o_shot`` and camera pan (a flow-heavy factor). A slow drift (knots every 3 s) modulates the
  scene weight. Actions add to the scene: the background of a video shares its scene with its actions.
- *Class and sub-phase.* Class ``c`` has an approach, a core and a release concept (``PHASES``). Classes of one
  confuser group (``CONFUSER_GROUPS``: the jumps, the throws, the two cricket classes, ...) share group concepts:
  a phase concept is ``share_p * group_p + (1 - share_p) * own_p`` (rescaled), with more sharing in approach and
  release than in the core. The core has ``core_styles`` styles (views, techniques): the class's common core
  concept plus a style's own (``style_spread``); an instance mixes them with Dirichlet weights that lean on the
  video's own mix (the same athlete and camera within a video), and adds an instance-specific random concept
  (``instance_jitter``) to all its phases: large within-class variation.
- *Envelope.* An instance's latent bounds are its annotated ones moved by ``boundary_jitter`` (annotations are not
  exact). Its span splits into approach / core / release by Dirichlet fractions around the class's own
  proportions; phase ``p`` is a soft box (product of two logistic ramps) with amplitude ``phase_amplitude[p]``
  (core strongest) times the instance amplitude (log-normal; with ``weak_prob`` a weak, far or occluded
  instance). Ramps at the instance's ends are ``ramp_rel`` of its duration (clipped to ``ramp_s``): evidence rises
  and falls gradually. RGB follows the envelope; flow follows the envelope times the phase's motion
  (``phase_motion``), the class's motion level and the instance's speed (a javelin run-up moves less than the
  throw; billiards hardly moves).
- *Actionness.* A "person in motion" concept, on during every action (``person_weight`` of the envelope) and during
  false evidence.
- *False evidence* in the background (outside the annotated instances, 1 s margins): **replays** (with
  ``replay_prob`` per instance: the instance again, slowed down ``replay_slow`` times, at ``replay_gain``, between
  two cuts) and **preparation** (people walking, warming up; ``prep_rate_per_min`` per background minute, lasting
  ``prep_duration_s``): the person concept plus the approach of a class of the video, and with ``prep_core_prob``
  the weak core of a confuser of it.

The videos: ``videos`` training (THUMOS'14 "Validation") and ``videos`` test videos, spread evenly over the sorted
lists (without the 3 broken test videos), with their real annotations, durations and fps, and for the training
videos their rows of the shipped LACP point file (``point_gaussian.csv``). Each video's features depend on the
seed, the dimension, the variant and the video only (not on which other videos are chosen).

Variants (``VARIANTS``): ``medium`` and ``hard`` (more varied class evidence, weaker sub-phases, more sharing between
confusers, more false evidence, more noise and scene change, shorter shots, wider ramps and boundary jitter).
"""
from __future__ import annotations

import csv
import io
import json
import shutil
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from ...datasets import grid_for, thumos14
from ...datasets.checks import expected_snippets
from ...datasets.shipped import dataset_classes, points_file
from ...files.video_files import video_file

GENERATOR = "independent"
PHASES = ("approach", "core", "release")

# Where each THUMOS'14 class is filmed: classes of one venue share the scene of their videos.
CLASS_VENUES = {
    "BaseballPitch": "baseball_field", "BasketballDunk": "court", "Billiards": "hall", "CleanAndJerk": "gym",
    "CliffDiving": "cliff", "CricketBowling": "cricket_ground", "CricketShot": "cricket_ground", "Diving": "pool",
    "FrisbeeCatch": "park", "GolfSwing": "golf_course", "HammerThrow": "stadium", "HighJump": "stadium",
    "JavelinThrow": "stadium", "LongJump": "stadium", "PoleVault": "stadium", "Shotput": "stadium",
    "SoccerPenalty": "soccer_field", "TennisSwing": "court", "ThrowDiscus": "stadium", "VolleyballSpiking": "court",
}
# Classes whose movements look alike (they share part of their phase concepts). A class in no group is its own.
CONFUSER_GROUPS = (
    ("HighJump", "LongJump", "PoleVault"),
    ("HammerThrow", "JavelinThrow", "Shotput", "ThrowDiscus"),
    ("CricketBowling", "CricketShot"),
    ("CliffDiving", "Diving"),
    ("GolfSwing", "TennisSwing", "BaseballPitch"),
    ("BasketballDunk", "VolleyballSpiking"),
    ("SoccerPenalty", "FrisbeeCatch"),
)


@dataclass(frozen=True)
class FamilyParams:
    """The knobs of the model (module docstring). Times in seconds, amplitudes in pre-activation units."""

    # concepts and the activation
    density: float = 0.3  # fraction of channels a class/person concept drives
    scene_density: float = 0.5
    bias: tuple[float, float] = (0.3, 0.9)  # b = -U(bias)
    gain_log_std: float = 0.8  # channel gains g = exp(N(0, .))
    gamma: float = 1.3
    noise_std: float = 0.35  # e_c per chunk and channel
    # scenes and shots
    extra_scenes: int = 3  # generic scenes besides the venues
    inserts: int = 3  # crowd, close-up, studio
    p_home_venue: float = 0.85
    video_scene_jitter: float = 0.25
    scene_weight: tuple[float, float] = (0.8, 1.3)
    insert_prob: float = 0.1
    shot_mean_s: float = 8.0
    shot_offset_std: float = 0.2
    drift_std: float = 0.15
    pan_prob: float = 0.3
    pan_mean: float = 0.5
    # classes
    share: tuple[float, float, float] = (0.5, 0.2, 0.5)  # group share of approach, core, release
    core_styles: int = 3
    style_spread: float = 0.4  # a style's own part against the class's common core
    style_concentration: float = 0.5
    video_style_weight: float = 0.6
    instance_jitter: float = 0.25
    class_gain_log_std: float = 0.2
    class_motion_log_std: float = 0.5
    # instances
    action_gain: float = 2.0
    amp_log_std: float = 0.3
    weak_prob: float = 0.1
    weak_factor: float = 0.4
    speed_log_std: float = 0.25
    phase_props: tuple[float, float, float] = (0.3, 0.45, 0.25)
    class_phase_concentration: float = 6.0  # each class's own proportions around phase_props
    phase_concentration: float = 15.0  # an instance's fractions around its class's
    phase_amplitude: tuple[float, float, float] = (0.6, 1.0, 0.55)
    phase_motion: tuple[float, float, float] = (0.6, 1.0, 0.4)
    ramp_rel: float = 0.15
    ramp_s: tuple[float, float] = (0.1, 1.5)
    inner_ramp_s: tuple[float, float] = (0.05, 0.5)
    boundary_jitter_rel: float = 0.05
    boundary_jitter_s: float = 0.15
    person_weight: float = 0.8
    # false evidence
    replay_prob: float = 0.15
    replay_slow: tuple[float, float] = (1.5, 2.5)
    replay_gain: tuple[float, float] = (0.4, 0.8)
    prep_rate_per_min: float = 0.6
    prep_duration_s: tuple[float, float] = (1.0, 5.0)
    prep_gain: tuple[float, float] = (0.3, 0.6)
    prep_core_prob: float = 0.2


MEDIUM = FamilyParams()
HARD = replace(MEDIUM, noise_std=0.4, p_home_venue=0.75, video_scene_jitter=0.35, insert_prob=0.15, shot_mean_s=6.0,
               shot_offset_std=0.25, drift_std=0.2, share=(0.6, 0.3, 0.6), style_spread=0.5, instance_jitter=0.35,
               amp_log_std=0.4, weak_prob=0.15, phase_amplitude=(0.5, 1.0, 0.45), ramp_rel=0.2,
               boundary_jitter_rel=0.08, boundary_jitter_s=0.25, replay_prob=0.25, prep_rate_per_min=1.0,
               prep_gain=(0.4, 0.8), prep_core_prob=0.35)
VARIANTS: dict[str, FamilyParams] = {"medium": MEDIUM, "hard": HARD}
DEFAULT_VARIANT = "medium"


# ---- the concepts (once per data set and dimension) -----------------------------------------------------

def _concept(rng: np.random.Generator, dim: int, density: float, rgb: float = 1.0, flow: float = 1.0) -> np.ndarray:
    """A sparse, mostly positive loading; RMS sqrt(density) over the channels (active entries about 1)."""
    active = rng.random(dim) < density
    active[rng.integers(dim)] = True  # never empty, even at a tiny dim
    sign = np.where(rng.random(dim) < 0.85, 1.0, -1.0)
    vector = active * sign * np.abs(rng.standard_normal(dim))
    half = dim // 2
    vector[:half] *= rgb
    vector[half:] *= flow
    return _rescaled(vector, density)


def _rescaled(vector: np.ndarray, density: float) -> np.ndarray:
    rms = float(np.sqrt(np.mean(vector ** 2)))
    return vector * (np.sqrt(density) / rms) if rms > 0 else vector


@dataclass(frozen=True)
class Dictionary:
    """The data set's loadings (rows in R^D) and per-class constants."""

    classes: tuple[str, ...]
    bias: np.ndarray  # (D,)
    gain: np.ndarray  # (D,)
    scenes: np.ndarray  # (venues + extra, D)
    venue_of: dict  # class index -> scene index
    inserts: np.ndarray  # (inserts, D)
    person: np.ndarray  # (D,)
    pan: np.ndarray  # (D,)
    approach: np.ndarray  # (C, D)
    core: np.ndarray  # (C, styles, D)
    release: np.ndarray  # (C, D)
    confusers: tuple  # class index -> tuple of the other classes of its group
    class_gain: np.ndarray  # (C,)
    class_motion: np.ndarray  # (C,)
    class_props: np.ndarray  # (C, 3) phase proportions


def build_dictionary(classes: list[str], dim: int, params: FamilyParams, rng: np.random.Generator) -> Dictionary:
    if dim < 2:
        raise ValueError(f"dim must be at least 2 (an RGB and a flow half), got {dim}")
    number = len(classes)
    bias = -rng.uniform(*params.bias, size=dim)
    gain = np.exp(params.gain_log_std * rng.standard_normal(dim))
    venues = sorted({CLASS_VENUES.get(name, f"venue:{name}") for name in classes})
    scenes = np.stack([_concept(rng, dim, params.scene_density, 1.0, 0.15)
                       for _ in range(len(venues) + params.extra_scenes)])
    venue_of = {c: venues.index(CLASS_VENUES.get(name, f"venue:{name}")) for c, name in enumerate(classes)}
    inserts = np.stack([_concept(rng, dim, params.scene_density, 1.0, 0.15) for _ in range(params.inserts)])
    person = _concept(rng, dim, params.density)
    pan = _concept(rng, dim, params.density, 0.1, 1.0)
    groups = [tuple(classes.index(n) for n in group if n in classes) for group in CONFUSER_GROUPS]
    group_of = {c: g for g, group in enumerate(groups) for c in group}
    group_concepts = [[_concept(rng, dim, params.density) for _ in PHASES] for _ in groups]

    def phase_concept(c: int, p: int, own: np.ndarray) -> np.ndarray:
        if c not in group_of:
            return own
        share = params.share[p]
        return _rescaled(share * group_concepts[group_of[c]][p] + (1 - share) * own, params.density)

    def core_styles(c: int) -> np.ndarray:
        own = _concept(rng, dim, params.density)  # what every style of the class has
        return np.stack([phase_concept(c, 1, own + params.style_spread * _concept(rng, dim, params.density))
                         for _ in range(params.core_styles)])

    approach = np.stack([phase_concept(c, 0, _concept(rng, dim, params.density)) for c in range(number)])
    core = np.stack([core_styles(c) for c in range(number)])
    release = np.stack([phase_concept(c, 2, _concept(rng, dim, params.density)) for c in range(number)])
    confusers = tuple(tuple(o for o in groups[group_of[c]] if o != c) if c in group_of else () for c in range(number))
    props = rng.dirichlet(params.class_phase_concentration * np.asarray(params.phase_props), size=number)
    return Dictionary(tuple(classes), bias, gain, scenes, venue_of, inserts, person, pan, approach, core, release,
                      confusers, np.exp(params.class_gain_log_std * rng.standard_normal(number)),
                      np.exp(params.class_motion_log_std * rng.standard_normal(number)), props)


# ---- one video ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Evidence:
    """One stretch of class evidence: an annotated instance, a replay or a preparation (seconds)."""

    label: int
    start_s: float
    end_s: float
    amplitude: float
    phase_amplitude: tuple[float, float, float]
    style: np.ndarray  # (core_styles,) weights
    jitter: np.ndarray  # (D,) instance-specific concept
    speed: float


def video_grid(record):
    """The THUMOS'14 ActionFormer grid of ``record`` (its native fps, 16-frame windows every 4 frames)."""
    return grid_for(record, "thumos14_actionformer")


def snippet_count(record) -> int:
    """T of ``record``: the fewest snippets its duration gives on its grid (the whole 16-frame windows), what the
    real-data check of ``admfit.datasets.checks`` expects."""
    return expected_snippets(video_grid(record), record.duration_s)[0]


def _soft_box(times: np.ndarray, start: float, end: float, rise: float, fall: float) -> np.ndarray:
    """Near 1 inside [start, end], logistic ramps of widths ``rise`` / ``fall`` seconds at the ends."""
    def logistic(x):
        return 0.5 * (1.0 + np.tanh(0.5 * x))

    return logistic((times - start) / rise) * logistic((end - times) / fall)


def _free_gaps(intervals: list[tuple[float, float]], duration: float, margin: float) -> list[tuple[float, float]]:
    """The parts of [0, duration] at least ``margin`` s away from every interval."""
    gaps, cursor = [], 0.0
    for start, end in sorted(intervals):
        if start - margin > cursor:
            gaps.append((cursor, start - margin))
        cursor = max(cursor, end + margin)
    if duration > cursor:
        gaps.append((cursor, duration))
    return gaps


def _place(rng: np.random.Generator, gaps: list[tuple[float, float]], length: float) -> tuple[float, float] | None:
    """A random [a, a + length] inside one of the gaps (chosen by its room), or None when none fits."""
    room = np.array([max(0.0, end - start - length) for start, end in gaps])
    if not len(gaps) or room.sum() <= 0:
        return None
    index = int(rng.choice(len(gaps), p=room / room.sum()))
    start = gaps[index][0] + rng.uniform(0, room[index])
    return start, start + length


class _Video:
    """Draws one video's latent factors and accumulates its pre-activations (chunks x D)."""

    def __init__(self, record, dictionary: Dictionary, params: FamilyParams, rng: np.random.Generator):
        self.record, self.d, self.p, self.rng = record, dictionary, params, rng
        self.dim = len(dictionary.bias)
        self.half = self.dim // 2
        grid = video_grid(record)
        self.per_snippet = int(round(grid.num_frames / grid.stride))  # chunks pooled into one snippet
        self.snippets = snippet_count(record)
        # chunk c covers frames [c * stride, (c + 1) * stride): its centre, in seconds
        self.times = (np.arange(self.snippets + self.per_snippet - 1) + 0.5) * grid.stride / grid.fps
        index = {name: c for c, name in enumerate(dictionary.classes)}
        self.labels = [index[inst.label] for inst in record.instances]
        self.video_style = {c: rng.dirichlet(np.full(params.core_styles, params.style_concentration))
                            for c in sorted(set(self.labels))}

    # -- evidence ----------------------------------------------------------------------------------------
    def _style(self, label: int) -> np.ndarray:
        own = self.rng.dirichlet(np.full(self.p.core_styles, self.p.style_concentration))
        shared = self.video_style.get(label, own)
        return self.p.video_style_weight * shared + (1 - self.p.video_style_weight) * own

    def _jitter(self) -> np.ndarray:
        return _concept(self.rng, self.dim, self.p.density)

    def instance(self, label: int, start: float, end: float) -> Evidence:
        p, rng = self.p, self.rng
        length = end - start
        spread = p.boundary_jitter_rel * length + p.boundary_jitter_s
        start_latent = start + spread * rng.standard_normal()
        end_latent = max(end + spread * rng.standard_normal(), start_latent + 0.1)
        amplitude = p.action_gain * self.d.class_gain[label] * np.exp(p.amp_log_std * rng.standard_normal())
        if rng.random() < p.weak_prob:
            amplitude *= p.weak_factor
        return Evidence(label, start_latent, end_latent, amplitude, p.phase_amplitude, self._style(label),
                        self._jitter(), float(np.exp(p.speed_log_std * rng.standard_normal())))

    def false_evidence(self, instances: list[Evidence]) -> tuple[list[Evidence], list[float]]:
        """Replays and preparation in the background; the cuts replays bring (seconds)."""
        p, rng, record = self.p, self.rng, self.record
        taken = [(inst.start_s, inst.end_s) for inst in record.instances]
        events, cuts = [], []
        for source in instances:
            if rng.random() >= p.replay_prob:
                continue
            slow = rng.uniform(*p.replay_slow)
            spot = _place(rng, _free_gaps(taken, record.duration_s, 1.0), slow * (source.end_s - source.start_s))
            if spot is None:
                continue
            taken.append(spot)
            cuts += list(spot)
            events.append(replace(source, start_s=spot[0], end_s=spot[1], speed=source.speed / slow,
                                  amplitude=source.amplitude * rng.uniform(*p.replay_gain)))
        background_min = sum(end - start for start, end in _free_gaps(taken, record.duration_s, 1.0)) / 60.0
        for _ in range(rng.poisson(p.prep_rate_per_min * background_min)):
            spot = _place(rng, _free_gaps(taken, record.duration_s, 1.0), rng.uniform(*p.prep_duration_s))
            if spot is None or not self.labels:
                continue
            taken.append(spot)
            label = self.labels[int(rng.integers(len(self.labels)))]
            gain = p.action_gain * rng.uniform(*p.prep_gain)
            phases = (1.0, 0.0, 0.0)  # the approach: walking up, getting ready
            confusers = self.d.confusers[label]
            if confusers and rng.random() < p.prep_core_prob:  # looks like a neighbouring class's action
                label, phases = confusers[int(rng.integers(len(confusers)))], (0.5, 0.7, 0.0)
            events.append(Evidence(label, spot[0], spot[1], gain, phases, self._style(label), self._jitter(),
                                   float(np.exp(p.speed_log_std * rng.standard_normal()))))
        return events, cuts

    # -- accumulation ------------------------------------------------------------------------------------
    def add_evidence(self, h: np.ndarray, item: Evidence) -> None:
        p, d, rng = self.p, self.d, self.rng
        length = item.end_s - item.start_s
        ramp = float(np.clip(p.ramp_rel * length, *p.ramp_s))
        inner = float(np.clip(0.1 * length, *p.inner_ramp_s))
        fractions = rng.dirichlet(p.phase_concentration * d.class_props[item.label])
        bounds = item.start_s + length * np.concatenate([[0.0], np.cumsum(fractions)])
        chunks = np.flatnonzero((self.times > item.start_s - 6 * ramp) & (self.times < item.end_s + 6 * ramp))
        if not len(chunks):
            return
        window = slice(int(chunks[0]), int(chunks[-1]) + 1)
        times = self.times[window]
        core = np.tensordot(item.style, d.core[item.label], axes=1)
        loadings = [d.approach[item.label], core, d.release[item.label]]
        motion_level = d.class_motion[item.label] * item.speed
        envelope = np.zeros(len(times))
        motion = np.zeros(len(times))
        for phase in range(len(PHASES)):
            if item.phase_amplitude[phase] == 0:
                continue
            rise = ramp if phase == 0 else inner
            fall = ramp if phase == len(PHASES) - 1 else inner
            shape = item.amplitude * item.phase_amplitude[phase] * _soft_box(times, bounds[phase], bounds[phase + 1],
                                                                           rise, fall)
            loading = _rescaled(loadings[phase] + p.instance_jitter * item.jitter, p.density)
            moving = shape * p.phase_motion[phase] * motion_level
            self._add(h, window, shape, moving, loading)
            envelope += shape
            motion += moving
        self._add(h, window, p.person_weight * envelope, p.person_weight * motion, d.person)

    def _add(self, h: np.ndarray, window: slice, rgb: np.ndarray, flow: np.ndarray, loading: np.ndarray) -> None:
        h[window, :self.half] += np.outer(rgb, loading[:self.half]).astype(np.float32)
        h[window, self.half:] += np.outer(flow, loading[self.half:]).astype(np.float32)

    def add_scene(self, h: np.ndarray, extra_cuts: list[float]) -> None:
        p, d, rng, record = self.p, self.d, self.rng, self.record
        cuts, cursor = [], 0.0
        while True:
            cursor += rng.exponential(p.shot_mean_s)
            if cursor >= record.duration_s:
                break
            cuts.append(cursor)
        cuts = np.sort(np.asarray(cuts + extra_cuts, dtype=np.float64))
        shot_of = np.searchsorted(cuts, self.times, side="right")
        if self.labels and rng.random() < p.p_home_venue:
            home = d.scenes[d.venue_of[self.labels[0]]]
        else:
            home = d.scenes[int(rng.integers(len(d.scenes)))]
        home = _rescaled(home + p.video_scene_jitter * _concept(rng, self.dim, p.scene_density, 1.0, 0.15),
                         p.scene_density)
        knots = np.arange(0.0, record.duration_s + 3.0, 3.0)
        drift = np.interp(self.times, knots, 1.0 + p.drift_std * rng.standard_normal(len(knots)))
        for shot in range(len(cuts) + 1):
            rows = np.flatnonzero(shot_of == shot)
            scene = d.inserts[int(rng.integers(len(d.inserts)))] if rng.random() < p.insert_prob else home
            weight = rng.uniform(*p.scene_weight)
            offset = (p.shot_offset_std * rng.standard_normal(self.dim)).astype(np.float32)
            pan = rng.exponential(p.pan_mean) if rng.random() < p.pan_prob else 0.0
            if not len(rows):
                continue
            window = slice(int(rows[0]), int(rows[-1]) + 1)
            h[window] += offset
            self._add(h, window, weight * drift[window], weight * drift[window], scene)
            if pan:
                self._add(h, window, np.full(len(rows), pan), np.full(len(rows), pan), d.pan)

    def features(self) -> np.ndarray:
        """(T, D) float32: the snippet features of the video."""
        d, p = self.d, self.p
        h = np.empty((len(self.times), self.dim), dtype=np.float32)
        h[:] = d.bias.astype(np.float32)
        instances = [self.instance(label, inst.start_s, inst.end_s)
                     for label, inst in zip(self.labels, self.record.instances)]
        events, cuts = self.false_evidence(instances)
        self.add_scene(h, cuts)
        for item in instances + events:
            self.add_evidence(h, item)
        h += p.noise_std * self.rng.standard_normal(h.shape, dtype=np.float32)
        np.maximum(h, 0.0, out=h)
        x = (h ** np.float32(p.gamma)) * d.gain.astype(np.float32)
        count = self.snippets
        pooled = sum(x[k:k + count] for k in range(self.per_snippet)) / np.float32(self.per_snippet)
        return pooled.astype(np.float32)


# ---- the data set ---------------------------------------------------------------------------------------

def params_of(variant: str) -> FamilyParams:
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; known: {', '.join(VARIANTS)}")
    return VARIANTS[variant]


def spread(videos: list[str], count: int) -> list[str]:
    """``count`` videos spread evenly over the sorted list (all of them when it has no more)."""
    ordered = sorted(videos)
    if count >= len(ordered):
        return ordered
    picks = np.unique(np.round(np.linspace(0, len(ordered) - 1, count)).astype(int))
    return [ordered[i] for i in picks]


def choose_videos(count: int) -> dict:
    """{video: VideoAnnotation} of ``count`` training and ``count`` test videos of THUMOS'14 (real annotations)."""
    records = thumos14()
    train = spread([v for v, r in records.items() if r.subset == "Validation"], count)
    test = spread([v for v, r in records.items() if r.subset == "Test"], count)
    return {video: records[video] for video in train + test}


def video_features(record, dictionary: Dictionary, params: FamilyParams, seed: int, number: int) -> np.ndarray:
    """The features of one video; ``number``: its place in the sorted list of all THUMOS'14 videos (its own
    random stream, whichever other videos are chosen)."""
    return _Video(record, dictionary, params, np.random.default_rng([seed, 1, number])).features()


def _annotation_document(records: dict, classes: list[str]) -> dict:
    """The chosen videos in the layout of the shipped gt_full.json (seconds; label_id in class order)."""
    database = {}
    for video, record in records.items():
        database[video] = {"subset": record.subset, "duration": record.duration_s, "fps": record.fps,
                           "annotations": [{"segment": [inst.start_s, inst.end_s], "label": inst.label,
                                            "label_id": classes.index(inst.label)} for inst in record.instances]}
    return {"database": database}


def _point_rows(videos: set[str]) -> str:
    """The shipped LACP point file (point_gaussian.csv) restricted to ``videos``, its header and row order kept."""
    lines = points_file("thumos14").read_text(encoding="utf-8").splitlines()
    column = next(csv.reader([lines[0]])).index("video_id")
    kept = [line for line in lines[1:] if line and next(csv.reader(io.StringIO(line)))[column] in videos]
    return "\n".join([lines[0], *kept]) + "\n"


def write_dataset(out: Path, *, videos: int, dim: int, seed: int, variant: str = DEFAULT_VARIANT
                  ) -> tuple[Path, Path, Path]:
    """Write ``out/features/VIDEO.npy`` (float32 (T, dim)), ``out/annotations.json`` and ``out/points.csv``
    (LACP layout, the training videos' real points), and ``out/generator.json`` (the settings), last.

    The folder is built beside ``out`` and renamed when complete; an existing ``out`` is refused.
    Returns (features folder, annotation file, point file)."""
    out = Path(out)
    if out.exists():
        raise FileExistsError(f"{out} exists; remove it or choose another folder")
    if videos < 1 or dim < 2:
        raise ValueError(f"videos must be >= 1 and dim >= 2, got {videos} and {dim}")
    params = params_of(variant)
    classes = dataset_classes("thumos14")
    dictionary = build_dictionary(classes, dim, params, np.random.default_rng([seed, 0, dim]))
    records = choose_videos(videos)
    numbering = {video: number for number, video in enumerate(sorted(thumos14()))}
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    (partial / "features").mkdir(parents=True)
    try:
        for video, record in records.items():
            features = video_features(record, dictionary, params, seed, numbering[video])
            np.save(video_file(partial / "features", video, ".npy"), features)
        (partial / "annotations.json").write_text(json.dumps(_annotation_document(records, classes)), encoding="utf-8")
        train = {v for v, r in records.items() if r.subset == "Validation"}
        (partial / "points.csv").write_text(_point_rows(train), encoding="utf-8")
        settings = {"generator": GENERATOR, "variant": variant, "seed": seed, "dim": dim, "videos": videos,
                    "params": asdict(params), "train": sorted(train), "test": sorted(set(records) - train)}
        (partial / "generator.json").write_text(json.dumps(settings, indent=1), encoding="utf-8")
        partial.rename(out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return out / "features", out / "annotations.json", out / "points.csv"
