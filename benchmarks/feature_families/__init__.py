"""Feature generators designed apart from ``admfit.synthetic``: a quality claim about the detector must hold on
data families that do not share a designer's assumptions. ``independent``: the second THUMOS'14-shaped family."""
