"""ADMConfig: every option of the ADM pseudo-label fit, validated.

The fixed defaults (``ADMConfig(tuning="off")``) were chosen by their worst case over signal families designed
apart from each other, one held out (benchmarks/pseudo_quality.py, docs/adm.md); ``ADMConfig()`` (tuning "auto")
chooses per dataset among them, the paper's method and them without background agreement, by the labels' boundary
contrast (admfit.fit.tuning); ``ADMConfig.paper()`` is the method exactly as the paper states it.

Units: ``delta`` is a fraction of the bracket length; ``smoothing_sigma`` is in steps of the
signal as given (the detector's last pyramid level when it is coarser than the background);
``point_radius`` is in first-level snippets. Defaults and why: docs/adm.md.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

UniformSolver = Literal["exact", "brent"]
IntervalMode = Literal["symmetric", "two_sided"]
CombineMode = Literal["sum", "select"]
Tuning = Literal["off", "auto"]


class ADMConfig(BaseModel):
    """Options of :func:`admfit.fit_instances` (paper section 3.4.1, docs/spec.md section 1)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    delta: float = Field(0.5, gt=0.0, le=1.0,
                         description="peak-search half-window as a fraction of the bracket length d (eq. 8)")
    g1: float = Field(1.5, ge=0.0, description="weight of the Gaussian sigma in the interval half-width (eq. 13)")
    g2: float = Field(1.0, ge=0.0, description="weight of the uniform half-width omega in the interval half-width (eq. 13)")
    uniform_solver: UniformSolver = Field(
        "exact", description="'exact': global optimum over integer widths; 'brent': bounded Brent as in the paper")
    interval: IntervalMode = Field(
        "two_sided", description="'symmetric': I = t* +- (g1 sigma + g2 omega) as in the paper; 'two_sided': "
        "each end from its own fits of [b_s, t*] and [t*, b_e]")
    combine: CombineMode = Field(
        "select", description="'sum': Delta = g1 sigma + g2 omega (eq. 13); 'select': Delta = g1 sigma if the "
        "Gaussian fits better (lower MSE) else g2 omega")
    select_margin: float = Field(
        0.4, gt=0.0, le=1.0, description="with combine='select', the Gaussian is chosen only where its MSE is "
        "below select_margin times the uniform's (1 = whichever fits better)")
    split_at_points: bool = Field(
        True, description="end the bracket at the signal's lowest snippet between the point and each "
        "neighbouring point of the same class (another point means another instance); False = the paper's bracket")
    dip_cut: float = Field(
        0.0, ge=0.0, lt=1.0, description="when > 0, the bracket also ends where the class signal falls below "
        "dip_cut * s[t*] (so one fit cannot span two instances that no background separates); 0 = the paper's bracket")
    xatol: float = Field(1e-5, gt=0.0, description="absolute tolerance of bounded Brent on sigma / omega (snippets)")
    maxiter: int = Field(500, ge=1, description="most loss evaluations per bounded Brent fit")
    despike: bool = Field(
        True, strict=True, description="replace single-step impulses of the class and background probabilities by the median "
        "of their three steps before anything else (only values far from that median: steps and bell tops stay)")
    smoothing_sigma: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] | Literal["auto"] = Field(
        0.0, description="Gaussian filter sigma of the class signal the models are fitted to, in steps of the signal "
        "as given; 0 = none; 'auto' = per video and class, from the signal's measured noise (noise_target)")
    locate_sigma: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] | Literal["auto"] = Field(
        "auto", description="Gaussian filter sigma of the copy of the class signal where the peak t*, the splits "
        "between points and the background agreement are read (steps of the signal as given); 'auto' = from the "
        "measured noise; the paper reads them on the fitted signal (set it equal to smoothing_sigma)")
    noise_target: float = Field(
        0.02, gt=0.0, le=1.0, description="with 'auto' smoothing: smooth until the estimated white-noise "
        "standard deviation (probability) falls to about this; a signal already below it is not smoothed")
    max_smoothing_sigma: float = Field(
        4.0, ge=0.0, description="with 'auto' smoothing: the largest sigma chosen, in steps of the signal")
    split_min_dip: float = Field(
        4.0, ge=0.0, description="with split_at_points: the lowest snippet between two points ends the bracket only "
        "when it dips at least this many noise standard deviations below both points' values; otherwise the "
        "midpoint between the points does; 0 = always the lowest snippet")
    bg_threshold: float = Field(
        0.5, ge=0.0, le=1.0, description="a snippet is background when its background probability exceeds this")
    bg_agreement: float = Field(
        0.7, ge=0.0, lt=1.0, description="when > 0, a background snippet ends the bracket only where the class "
        "signal is below bg_agreement times its value at the point (the two heads agree); 0 = every background "
        "snippet, the paper's bracket")
    point_radius: int = Field(
        2, ge=0, description="snippets within this radius of any annotated point are never background (r_a)")
    tuning: Tuning = Field(
        "auto", description="'auto' (the default): fit_instances first chooses among these options, "
        "ADMConfig.paper() and these options without bg_agreement, by the boundary contrast of their labels (no "
        "ground truth; admfit.fit.tuning, docs/adm.md 'Self-tuning'); 'off': these options as they are (the fixed "
        "defaults: ADMConfig(tuning='off'))")

    @field_validator("tuning", mode="before")
    @classmethod
    def _yaml_off(cls, value):
        # YAML 1.1 (PyYAML, every --set and config file) reads the bare word off as false: that is what it meant.
        return "off" if value is False else value

    @classmethod
    def paper(cls, **overrides) -> "ADMConfig":
        """The paper's literal method: background bracket, symmetric interval, Delta = g1 sigma + g2 omega, Brent;
        tuning off (the method as stated, nothing chosen)."""
        values = {"tuning": "off", "interval": "symmetric", "combine": "sum", "uniform_solver": "brent", "g1": 1.0,
                  "g2": 0.5, "smoothing_sigma": 1.0, "locate_sigma": 1.0, "split_at_points": False, "despike": False,
                  "bg_agreement": 0.0}
        return cls(**{**values, **overrides})
