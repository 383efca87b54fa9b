"""Feature stores: .npy folders, .npz, HDF5 (optional), several sources side by side, and bad arrays."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from admfit.datasets import FeatureStore, load_features, save_features_npz
from admfit.errors import InputError


@pytest.fixture()
def folder(tmp_path):
    root = tmp_path / "feats"
    root.mkdir()
    rng = np.random.default_rng(0)
    np.save(root / "video_a.npy", rng.normal(size=(6, 4)))          # float64 on disk
    np.save(root / "v_yt123.npy", rng.normal(size=(3, 4)).astype(np.float32))
    return root


def test_npy_folder_reads_float32(folder):
    features = load_features(folder, "video_a")
    assert features.dtype == np.float32 and features.shape == (6, 4)
    np.testing.assert_allclose(features, np.load(folder / "video_a.npy"), rtol=1e-6)
    with FeatureStore(folder) as store:
        assert store.videos == ["v_yt123", "video_a"] and len(store) == 2
        assert "video_a" in store and "nope" not in store
        assert [name for name, _ in store.items()] == list(store)


def test_activitynet_prefix_fallback(folder):
    assert load_features(folder, "yt123").shape == (3, 4)     # v_ added
    np.save(folder / "bare.npy", np.zeros((2, 4)))
    assert load_features(folder, "v_bare").shape == (2, 4)    # v_ removed


def test_npz_round_trip(tmp_path):
    arrays = {"v1": np.arange(12, dtype=np.float64).reshape(4, 3), "v2": np.ones((2, 3), np.int32)}
    path = tmp_path / "f.npz"
    save_features_npz(path, arrays)
    with FeatureStore(path) as store:
        assert store.videos == ["v1", "v2"]
        for video, array in arrays.items():
            assert store[video].dtype == np.float32
            np.testing.assert_array_equal(store[video], array)


def test_several_sources_concatenate_along_features(tmp_path):
    rgb, flow = tmp_path / "rgb", tmp_path / "flow"
    rgb.mkdir(), flow.mkdir()
    np.save(rgb / "v.npy", np.zeros((5, 2)))
    np.save(flow / "v.npy", np.ones((5, 3)))
    both = load_features([rgb, flow], "v")
    assert both.shape == (5, 5) and both[:, :2].sum() == 0 and both[:, 2:].sum() == 15
    np.save(flow / "v.npy", np.ones((4, 3)))
    with pytest.raises(InputError, match="disagree on the number of snippets"):
        load_features([rgb, flow], "v")


def test_hdf5_round_trip(tmp_path):
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "f.h5"
    with h5py.File(path, "w") as handle:
        handle["v1"] = np.ones((3, 2))
    assert load_features(path, "v1").shape == (3, 2)


def test_hdf5_without_h5py_is_a_clear_error(tmp_path, monkeypatch):
    path = tmp_path / "f.h5"
    path.write_bytes(b"not really hdf5")
    monkeypatch.setitem(sys.modules, "h5py", None)  # makes `import h5py` raise ImportError
    with pytest.raises(InputError, match="needs the optional package h5py"):
        load_features(path, "v1")


@pytest.mark.parametrize("array, field, message", [
    (np.array([[0.0, np.nan], [1.0, 2.0]]), "features", "1 non-finite value"),
    (np.array([[0.0, 1.0], [np.inf, 2.0]]), "features", "first at snippet 1"),
    (np.zeros(5), "shape", "2-D"),
    (np.zeros((2, 3, 4)), "shape", "2-D"),
    (np.zeros((0, 4)), "shape", "empty"),
    (np.array([["a", "b"]]), "dtype", "numbers"),
])
def test_bad_arrays(tmp_path, array, field, message):
    np.save(tmp_path / "v.npy", array)
    with pytest.raises(InputError, match=message) as caught:
        load_features(tmp_path, "v")
    assert (caught.value.video, caught.value.field) == ("v", field)
    assert caught.value.file == str(tmp_path / "v.npy")


def test_missing_and_unreadable_sources(tmp_path, folder):
    with pytest.raises(InputError, match="no features for this video") as caught:
        load_features(folder, "absent")
    assert (caught.value.file, caught.value.video, caught.value.field) == (str(folder), "absent", "video")
    with pytest.raises(InputError, match="no such file or folder"):
        load_features(tmp_path / "nowhere", "v")
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(InputError, match="expected a folder of .npy files"):
        load_features(tmp_path / "f.txt", "v")
    (tmp_path / "broken.npz").write_bytes(b"PK not a zip")
    with pytest.raises(InputError, match="not a readable .npz"):
        load_features(tmp_path / "broken.npz", "v")
    (folder / "corrupt.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(InputError, match="not a readable .npy") as caught:
        load_features(folder, "corrupt")
    assert caught.value.video == "corrupt"


def test_save_rejects_bad_arrays_without_writing(tmp_path):
    path = tmp_path / "f.npz"
    with pytest.raises(InputError, match="non-finite"):
        save_features_npz(path, {"v1": np.ones((2, 2)), "v2": np.full((2, 2), np.nan)})
    assert list(tmp_path.iterdir()) == []
