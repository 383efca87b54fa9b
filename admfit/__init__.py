"""admfit: complete action labels from point annotations by Actionness Distribution Modeling.

The core is torch-free. Stable API::

    from admfit import fit_instances, ADMConfig, PseudoLabel
"""
__version__ = "0.1.0"
