"""Dataset formats: ground-truth annotations, point labels, features (times in seconds).

The names are imported on first use (``admfit._lazy``): ``admfit.datasets.annotation_columns`` (what
``admfit eval`` reads) must not bring in pydantic with the annotation models.
"""
from admfit._lazy import lazy_exports

_EXPORTS = {
    "Instance": ".annotations", "VideoAnnotation": ".annotations", "class_index": ".annotations",
    "class_names": ".annotations", "load_annotations": ".annotations", "thumos14": ".annotations",
    "thumos14_fps": ".annotations", "PointLabel": ".points", "load_points": ".points",
    "points_by_video": ".points", "FeatureStore": ".features", "load_features": ".features",
    "save_features_npz": ".features", "grid_for": ".grids",
}
__all__ = ["Instance", "VideoAnnotation", "class_index", "class_names", "load_annotations",
           "thumos14", "thumos14_fps", "PointLabel", "load_points", "points_by_video",
           "FeatureStore", "load_features", "save_features_npz", "grid_for"]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
