"""Figures of the pseudo-label stage: for a few training videos, what ADM saw and fitted (``admfit plot``)."""
from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path
from typing import Mapping, Sequence

from admfit.errors import InputError
from admfit.files.video_files import readable_stem
from admfit.fit.api import PseudoLabel
from admfit.fit.signal import prepare_background
from admfit_torch.pseudo import VideoSignals


def _to_model_units(label: PseudoLabel, signals: VideoSignals) -> dict:
    """A pseudo-label's snippet fields back on the model-input grid the signal lives on."""
    where = signals.sample.map
    t_star, start, end = where.from_video([label.t_star, label.start, label.end]).tolist()
    sigma, omega = where.length_from_video([label.sigma, label.omega]).tolist()
    return {"t_star": t_star, "start": start, "end": end, "sigma": sigma, "omega": omega, "score": label.score}


READABLE_POINTS = 4  # instances of one class that a figure shows well, as in the paper's Figure 2


def chosen_videos(signals: Sequence[VideoSignals], count: int) -> list[tuple[VideoSignals, int]]:
    """``count`` videos, each with its most annotated class: those whose class count is nearest to
    READABLE_POINTS first (a video with 60 instances of one class is unreadable), then by name."""
    tops = [(s, *Counter(s.item.labels.tolist()).most_common(1)[0]) for s in signals if len(s.item.labels)]
    ranked = sorted(tops, key=lambda row: (abs(row[2] - READABLE_POINTS), row[0].item.video))[:count]
    return [(s, c) for s, c, _ in ranked]


def draw_figures(signals: Sequence[VideoSignals], labels: Sequence[PseudoLabel], annotations: Mapping,
                 classes: Sequence[str], adm_config, folder: Path, count: int) -> tuple[list[Path], str | None]:
    """PNG figures of ``count`` training videos -> (paths, None), or ([], why not) when matplotlib is missing."""
    if count == 0:
        return [], None
    if importlib.util.find_spec("matplotlib") is None:  # the optional 'plot' extra
        return [], "figures skipped: matplotlib is not installed (pip install 'admfit[plot]')"
    from admfit.plotting import plot_video_class, save_figure

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for s, c in chosen_videos(signals, count):
        grid = s.grid
        mine = [_to_model_units(label, s) for label in labels if label.video == s.item.video and label.label == c]
        points = [int(row[0]) for row in s.point_rows if row[1] == c]
        record = annotations.get(s.item.video)
        truth = [] if record is None else [
            tuple(float(x) for x in grid.seconds_to_snippet([inst.start_s, inst.end_s]))
            for inst in record.instances if inst.label == classes[c]]
        # ADM's background excludes the surroundings of every point of the video, whatever its class.
        background = prepare_background(s.levels.background[0], adm_config, s.point_rows[:, 0])
        figure = plot_video_class(s.levels.fused[-1], class_index=c, background=background, pseudo_labels=mine,
                                  points=points, ground_truth=truth, config=adm_config, grid=grid,
                                  title=f"{s.item.video}: {classes[c]}", class_name=classes[c],
                                  centres=s.signal_centres)
        path = folder / f"{readable_stem(s.item.video)}_{readable_stem(classes[c])}.png"
        try:
            save_figure(figure, path)
        except InputError as error:
            return paths, f"figures stopped: {error}"
        paths.append(path)
    return paths, None
