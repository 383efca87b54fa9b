"""pseudo_labels.json / .csv, the output of ``admfit fit``: :func:`pseudo_label_rows` (PseudoLabels as flat rows),
:func:`write_pseudo_labels` and :func:`read_pseudo_labels`, the one reader (``admfit plot``, ``admfit eval-pseudo``,
``admfit export`` and the detector's main stage all use it). docs/formats.md has the full description.
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, NotRequired

from pydantic import BeforeValidator, Field, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from admfit.errors import InputError
from admfit.files.atomic import atomic_open
from admfit.files.require import require_file

_CSV_FIELDS = ("video", "label", "label_id", "score", "point", "point_s", "t_star", "b_s", "b_e", "sigma", "omega",
               "start", "end", "start_s", "end_s", "confidence", "converged")


def pseudo_label_rows(labels, classes: Sequence[str] | None, point_seconds: Sequence[float | None]) -> list[dict]:
    """Flat records of PseudoLabels, class names resolved, with each point's time in seconds."""
    rows = []
    for label, point_s in zip(labels, point_seconds):
        rows.append({
            "video": label.video, "label": classes[label.label] if classes else str(label.label),
            "label_id": label.label, "score": label.score, "point": label.point, "point_s": point_s,
            "t_star": label.t_star, "b_s": label.b_s, "b_e": label.b_e, "sigma": label.sigma, "omega": label.omega,
            "start": label.start, "end": label.end, "start_s": label.start_s, "end_s": label.end_s,
            "confidence": label.confidence, "converged": label.converged})
    return rows


def write_pseudo_labels(path, rows: list[dict], *, fmt: str, meta: dict) -> None:
    """ActivityNet-style JSON (``segment`` in seconds when timing is known, else snippets) or CSV."""
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=_CSV_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        with atomic_open(path, "w") as handle:
            handle.write(buffer.getvalue())
        return
    in_seconds = meta.get("segment_units") == "seconds"
    results: dict[str, list[dict]] = {}
    for row in rows:
        segment = [row["start_s"], row["end_s"]] if in_seconds else [row["start"], row["end"]]
        entry = {"segment": segment, "label": row["label"], "score": row["score"]}
        entry.update({key: row[key] for key in _CSV_FIELDS if key not in ("video", "label", "score")})
        results.setdefault(row["video"], []).append(entry)
    with atomic_open(path, "w") as handle:
        json.dump({"version": "admfit-0.1", "results": results, "meta": meta}, handle, indent=1)


# ---- pseudo-labels back in ----------------------------------------------------------------------------------

def _not_bool(value):
    # pydantic reads true as 1.0; a flag in a number's place is a broken file, not a number.
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {str(value).lower()}")
    return value


_Number = Annotated[float, BeforeValidator(_not_bool), Field(allow_inf_nan=False)]


class _Row(TypedDict):
    """One row as pseudo_label_rows makes it; times in seconds may be missing (no fps known)."""

    video: str
    label: str
    label_id: Annotated[int, Field(ge=0)]
    score: _Number
    point: _Number
    point_s: _Number | None
    t_star: _Number
    b_s: _Number
    b_e: _Number
    sigma: _Number
    omega: _Number
    start: _Number
    end: _Number
    start_s: _Number | None
    end_s: _Number | None
    # Written since confidence existed (docs/adm.md); older files lack them.
    confidence: NotRequired[Annotated[float, Field(ge=0.0, le=1.0)]]
    converged: NotRequired[bool]


_ROWS = TypeAdapter(list[_Row])
# JSON only: the segment the writer derived from start_s/end_s (or start/end); checked, then dropped.
_SEGMENT = TypeAdapter(tuple[_Number, _Number])


def _json_rows(path: Path) -> tuple[list[dict], list[tuple[str, int]], dict]:
    """The file's entries as rows (the ``segment`` the writer derived is checked: two finite numbers, then dropped),
    where each came from, meta."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(f"malformed JSON ({error})", file=str(path), field="pseudo_labels") from None
    if not isinstance(document, Mapping) or not isinstance(document.get("results"), Mapping):
        raise InputError("must be `admfit fit` output: an object with a 'results' object keyed by video",
                         file=str(path), field="results")
    rows, origins = [], []
    for video, entries in document["results"].items():
        if not isinstance(entries, list):
            raise InputError("must be a list of pseudo-labels", file=str(path), video=video, field=f"results.{video}")
        for number, entry in enumerate(entries):
            if not isinstance(entry, Mapping):
                raise InputError("must be an object", file=str(path), video=video, field=f"results.{video}.{number}")
            if "segment" in entry:
                try:
                    _SEGMENT.validate_python(entry["segment"])
                except ValidationError as error:
                    raise InputError.from_validation(error, file=str(path), video=video,
                                                     prefix=f"results.{video}.{number}.segment") from None
            rows.append({"video": video, **{key: value for key, value in entry.items() if key != "segment"}})
            origins.append((video, number))
    meta = document.get("meta")
    return rows, origins, dict(meta) if isinstance(meta, Mapping) else {}


def _csv_rows(path: Path) -> list[dict]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            # The writer leaves unknown times empty.
            return [{key: (None if value == "" else value) for key, value in row.items()}
                    for row in csv.DictReader(handle)]
    except UnicodeDecodeError:
        raise InputError("not a UTF-8 text file", file=str(path), field="pseudo_labels") from None


def read_pseudo_labels(path: str | Path) -> tuple[list[dict], dict]:
    """(rows, meta) of a file :func:`write_pseudo_labels` wrote, JSON or CSV (by suffix): the rows it was given
    (every field of :func:`pseudo_label_rows`, numbers validated) and its meta ({} for CSV, which has none).

    A bad file raises one InputError naming the file, the video and the field (JSON) or the line (CSV)."""
    path = require_file(path, "pseudo_labels")
    is_csv = path.suffix.lower() == ".csv"
    if is_csv:
        rows, origins, meta = _csv_rows(path), None, {}
    else:
        rows, origins, meta = _json_rows(path)
    try:
        return _ROWS.validate_python(rows), meta
    except ValidationError as error:
        index, *inside = error.errors()[0]["loc"]
        video = str(rows[index].get("video")) if is_csv else origins[index][0]
        where = ".".join(str(part) for part in inside)
        if is_csv:
            raise InputError.from_validation(error, file=str(path), video=video, field=where,
                                             context=f"line {index + 2}") from None
        raise InputError.from_validation(error, file=str(path), video=video,
                                         field=f"results.{video}.{origins[index][1]}.{where}") from None
