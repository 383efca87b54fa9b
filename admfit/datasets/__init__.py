"""Dataset formats: ground-truth annotations, point labels, features (all times in seconds)."""
from admfit.datasets.annotations import (Instance, VideoAnnotation, class_index, class_names,
                                         load_annotations, thumos14, thumos14_fps)
from admfit.datasets.points import PointLabel, load_points, points_by_video

__all__ = ["Instance", "VideoAnnotation", "class_index", "class_names", "load_annotations",
           "thumos14", "thumos14_fps", "PointLabel", "load_points", "points_by_video"]
