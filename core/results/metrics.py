"""What the review pages can show per spot: the metrics, where each is stored, and its unit.

Analyses are stored as :class:`~core.storage.models.Analysis` rows, one kind per analysis
(``galvanostatic``, ``irm`` with ``irm_maps``, ``sem`` with ``sem_outlines``, ``cv``, ``ce_irm``
with ``ce_irm_maps``) plus ``review`` for people's decisions (exclusion). A metric is one value
in the ``results`` JSON of the latest version of one scalar kind (never of the array kinds).
The analysis workers (``workers.analysis_task``, with :mod:`core.results.movie_analysis` for
irm and ce_irm and :mod:`core.results.sem_analysis` for sem) write those values; this table
is the contract between them and the review pages.
"""

from __future__ import annotations

from dataclasses import dataclass

#: analysis kinds written by :mod:`core.results.spot_analysis` and :mod:`core.results.record`
GALVANOSTATIC = "galvanostatic"
IRM = "irm"
#: the IRM analysis' arrays (intensity curve, t_nuc map), kept apart from its scalars so the
#: database never parses them when a heatmap picks t_nuc(IRM) out of 10,000 spots
IRM_MAPS = "irm_maps"
SEM = "sem"
CV = "cv"
#: CE(IRM) of a filmed CV (per-cycle scalars) and its per-cycle maps, kept apart likewise
CE_IRM = "ce_irm"
CE_IRM_MAPS = "ce_irm_maps"
REVIEW = "review"

#: the pseudo-metric that maps the ledger state of each spot (plus exclusion by review)
STATUS = "status"


@dataclass(frozen=True)
class Metric:
    """One per-spot number shown on heatmaps and trends.

    Attributes
    ----------
    key : str
        Name in URLs and in the analysis ``results`` JSON (units in the name).
    label : str
        Display name (``E_nuc``).
    unit : str
        Display unit (``V``); empty for dimensionless numbers.
    kind : str
        Analysis kind whose latest version holds the value.
    path : tuple of str or int
        Where the value sits inside that analysis' ``results`` JSON (keys, and list indices
        with -1 for the last element).
    digits : int
        Decimals kept (``significant=False``) or significant digits (``significant=True``)
        when values are sent to a browser.
    significant : bool
        Round to significant digits instead of decimals (numbers spanning decades).
    missing : str
        What a spot that was analysed but has no value means (hover text).
    """

    key: str
    label: str
    unit: str
    kind: str
    path: tuple[str | int, ...]
    digits: int
    significant: bool = False
    missing: str = "no value"

    @property
    def axis_title(self) -> str:
        """Axis or colour-bar title with the unit, e.g. ``E_nuc (V)``."""
        return f"{self.label} ({self.unit})" if self.unit else self.label


_METRICS = (
    Metric("e_nuc_V", "E_nuc", "V", GALVANOSTATIC, ("e_nuc_V",), 4,
           missing="no nucleation reached"),
    Metric("e_growth_V", "E_growth", "V", GALVANOSTATIC, ("e_growth_V",), 4,
           missing="no nucleation reached"),
    Metric("t_nuc_s", "t_nuc", "s", GALVANOSTATIC, ("t_nuc_s",), 3,
           missing="no nucleation reached"),
    Metric("q_nuc_uAh_cm2", "Q_nuc", "µAh/cm²", GALVANOSTATIC, ("q_nuc_uAh_cm2",), 3,
           missing="no nucleation reached"),
    Metric("t_nuc_irm_s", "t_nuc(IRM)", "s", IRM, ("t_nuc_irm_s",), 3,
           missing="no significant optical rise"),
    Metric("density_per_cm2", "particle density", "cm⁻²", SEM, ("density_per_cm2",), 3,
           significant=True),
    Metric("mean_diameter_nm", "mean diameter", "nm", SEM, ("mean_diameter_nm",), 1),
    Metric("ce", "CE (last cycle)", "", CV, ("cycles", -1, "ce"), 3,
           missing="no complete cycle"),
    # the last cycle the movie holds whole (core.results.movie_analysis.analyse_cv_movie)
    Metric("ce_irm_median", "CE(IRM) median (last cycle)", "", CE_IRM,
           ("cycles", -1, "ce_irm_median"), 3,
           missing="no CE(IRM): every footprint block masked, or the movie not analysable"),
)

#: metric key → :class:`Metric`, in display order
METRICS: dict[str, Metric] = {metric.key: metric for metric in _METRICS}

#: spot states shown on the status map, in legend order; ``excluded`` comes from review
STATUS_CATEGORIES = (
    "done", "excluded", "no_contact", "failed", "interrupted", "skipped", "pending", "running",
)
#: ledger states folded into ``running`` on the status map
RUNNING_STATES = frozenset({"approaching", "measuring"})


def metric_choices() -> list[tuple[str, str]]:
    """``(key, label)`` pairs for a metric picker: every metric, then the status map."""
    return [(m.key, m.axis_title) for m in METRICS.values()] + [(STATUS, "status")]


def is_known_metric(key: str | None) -> bool:
    """True for a metric key or ``status``."""
    return key == STATUS or key in METRICS
