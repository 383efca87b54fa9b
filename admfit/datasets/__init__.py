"""Dataset formats: ground-truth annotations, point labels, features (times in seconds)."""
from admfit.datasets.annotations import (Instance, VideoAnnotation, class_index, class_names,
                                         load_annotations, thumos14, thumos14_fps)
from admfit.datasets.features import FeatureStore, load_features, save_features_npz
from admfit.datasets.grids import grid_for
from admfit.datasets.points import PointLabel, load_points, points_by_video

__all__ = ["Instance", "VideoAnnotation", "class_index", "class_names", "load_annotations",
           "thumos14", "thumos14_fps", "PointLabel", "load_points", "points_by_video",
           "FeatureStore", "load_features", "save_features_npz", "grid_for"]
