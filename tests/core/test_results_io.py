"""admfit.evaluation.results_io: the typed path (msgspec) reads what the general path (orjson, column checks)
reads, bit for bit, and hands it every other file, whose faults the general path names."""
from __future__ import annotations

import json

import numpy as np
import pytest

from admfit.errors import InputError
from admfit.evaluation import results_io
from admfit.evaluation.results_io import load_detections
from admfit.files.json_columns import parse_json

pytest.importorskip("msgspec")

# Number texts where parsers could differ: halfway cases, subnormals, underflow, integers past 2**53 and
# past 64 bits, signed zeros, exponent forms.
NUMBER_TEXTS = ["0", "-0", "-0.0", "1", "12", "3.5", "0.1", "1e2", "1E+2", "2.5e-3", "0.1e1", "5e-324",
                "2.4703282292062328e-324", "2.4703282292062327e-324", "1e-400", "1.7976931348623157e308",
                "9007199254740993", "-9223372036854775809", "12345678901234567890123",
                "1.00000000000000011102230246251565404236316680908203125", "0.30000000000000004",
                "123456789012345678901234567890e-20"]
LABELS = ['"A"', '"Billiards"', '"\\u00e9t\\u00e9"', '"caf\u00e9"', '"a\\"b"', '"\\ud83d\\ude00"', '"x y"']


def _number(rng) -> str:
    if rng.random() < 0.4:
        return rng.choice(NUMBER_TEXTS)
    value = float(rng.normal(0, 10.0 ** int(rng.integers(-3, 6))))
    return repr(value) if rng.random() < 0.5 else f"{value:.{int(rng.integers(0, 20))}e}"


def _entry(rng) -> str:
    fields = [f'"segment": [{_number(rng)}, {_number(rng)}]', f'"label": {rng.choice(LABELS)}',
              f'"score": {_number(rng)}']
    extras = ['"point_s": null', '"sigma": [1, {"a": true}]', '"confidence": 0.5', '"note": "\\t\\/"',
              '"score_x": "1"', '"segment": [7, 8]']  # the last repeats a key: the later one counts
    fields += [extras[int(k)] for k in rng.choice(len(extras), int(rng.integers(0, 3)), replace=False)]
    order = rng.permutation(len(fields))
    return "{" + (", " if rng.random() < 0.5 else ",\n ").join(fields[int(k)] for k in order) + "}"


def _document(rng) -> bytes:
    videos = [f'"{name}": [' + ", ".join(_entry(rng) for _ in range(int(rng.integers(0, 8)))) + "]"
              for name in rng.choice(["v1", "video_test_0000004", "v\\u00e92", "v1", "w"], int(rng.integers(0, 5)))]
    return ('{"version": "x", "results": {' + ", ".join(videos) + '}, "meta": {"a": [1, null]}}\n').encode()


def _both(tmp_path, data: bytes):
    """(typed path's columns or None, general path's columns or its InputError)."""
    path = tmp_path / "pred.json"
    path.write_bytes(data)
    try:
        general = results_io._columns(path, parse_json(path, data))
    except InputError as error:
        general = error
    return results_io._plain_columns(path, data), general


def _assert_same(typed, general) -> None:
    assert typed.videos == general.videos and np.array_equal(typed.counts, general.counts)
    assert typed.label.dtype == general.label.dtype and np.array_equal(typed.label, general.label)
    for name in ("start", "end", "score"):
        a, b = getattr(typed, name), getattr(general, name)
        assert a.dtype == b.dtype == np.float64 and np.array_equal(a.view(np.uint64), b.view(np.uint64)), name


def test_plain_files_read_the_same_bit_for_bit(tmp_path):
    rng = np.random.default_rng(15)
    taken = 0
    for _ in range(300):
        data = _document(rng)
        typed, general = _both(tmp_path, data)
        if typed is None:  # only a non-finite number (an overflowing text) may send a plain file away
            assert isinstance(general, InputError) and "finite" in str(general), data
            continue
        taken += 1
        _assert_same(typed, general)
    assert taken > 250  # the typed path did the reading


@pytest.mark.parametrize("data", [
    b'{"results": {"v": [{"segment": ["1.5", 2], "label": "A", "score": 0.5}]}}',  # numbers as strings
    b'{"results": {"v": [{"segment": [0, 1], "label": "A", "score": NaN}]}}',
    b'{"results": {"v": [{"segment": [0, 1], "label": "A", "score": 1e400}]}}',
    b'{"results": {"v": [{"segment": [0, 1], "label": "", "score": 0.5}]}}',
    b'{"results": {"v": [{"segment": [0, 1], "label": "A", "score": true}]}}',
    b'{"results": {"v": [{"segment": [0, 1, 2], "label": "A", "score": 0.5}]}}',
    b'{"results": {"v": [{"segment": [0, 1], "label": null, "score": 0.5}]}}',
    b'{"results": {"v": [{"segment": [0, 1], "label": "A"}]}}',
    b'{"results": {"v": [[0, 1]]}}',
    b'{"results": {"v": {"segment": [0, 1]}}}',
    b'{"results": []}',
    b'{"meta": {}}',
    b'[]',
    b'{"results": {"v": [{"segment": [0, 1], "label": "A", "score": 0.5, "note": "\xc3"}]}}',  # bad UTF-8, unread
    b'{"results": {"v": [{"segment": [0, 1], "label": "A", "score": 0.5, "x": NaN}]}}',
    b'{"results": {"v": [{"segment": [0, 1], "label": "\\ud800", "score": 0.5}]}}',  # a lone surrogate
    b'\xef\xbb\xbf{"results": {}}',  # a byte-order mark
    b'{"results": {"v": [{"segment": [0, 1], "label": "A", "score": 0.5},]}}',
    b'{"results": {}} x',
    b'',
])
def test_other_files_go_to_the_general_path(tmp_path, data):
    typed, general = _both(tmp_path, data)
    assert typed is None, general


def test_the_loader_takes_the_typed_path_for_plain_files_only(tmp_path, monkeypatch):
    calls = []
    general = results_io._columns
    monkeypatch.setattr(results_io, "_columns", lambda *args: calls.append(1) or general(*args))
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps({"results": {"v": [{"segment": [0, 1.5], "label": "A", "score": 0.5}]}}))
    assert load_detections(plain).end_s.tolist() == [1.5] and calls == []
    strings = tmp_path / "strings.json"
    strings.write_text(json.dumps({"results": {"v": [{"segment": ["0", "1.5"], "label": "A", "score": 0.5}]}}))
    assert load_detections(strings).end_s.tolist() == [1.5] and calls == [1]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"results": {"v": [{"segment": [0, 1], "label": "A", "score": "high"}]}}))
    with pytest.raises(InputError, match=r"results\.v\.0\.score"):
        load_detections(bad)


def test_without_msgspec_every_file_takes_the_general_path(tmp_path, monkeypatch):
    monkeypatch.setattr(results_io, "_plain_decoder", lambda: None)
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps({"results": {"v": [{"segment": [0, 1.5], "label": "A", "score": 0.5}]}}))
    assert results_io._plain_columns(plain, plain.read_bytes()) is None
    assert load_detections(plain).end_s.tolist() == [1.5]
