"""The point calibration: the weighted posterior medians of the shipped default calibration
(``conf/calibration/default.parquet``), which the registry uses as the defaults of the
parameters it fitted (``models.registry``).

Written by ``python -m sim experiment=calibrate experiment.params.install=default``
(``experiments.calibrate.install``); do not edit by hand: a test checks it against the
shipped posterior.
"""

#: Where the medians come from (quoted in each fitted parameter's source).
SOURCE = "calibration=default of 2026-11-30_09-00-13"

#: Weighted posterior median of each fitted parameter.
MEDIANS: dict[str, float] = {
    "innovation_p": 0.1947,
    "imitation_q": 0.9646,
    "complex_prob": 0.08912,
    "threshold_mean": 0.3124,
    "joined_signal": 0.7018,
    "return_contagion": 0.4192,
    "activity_base": 0.641,
    "value_weight": 2.654,
    "value_learning": 0.06253,
    "need_mean": 0.8421,
    "abandon_rate": 0.1144,
    "propensity_sigma": 1.805,
    "posting_connect": 0.1518,
    "lurker_share": 0.6107,
}
