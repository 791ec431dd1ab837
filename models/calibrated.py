"""The point calibration: the posterior medoid (multivariate median) of the shipped default
calibration (``conf/calibration/default.parquet``), which the registry uses as the defaults of
the parameters it fitted (``models.registry``).

Written by ``python -m sim experiment=calibrate experiment.params.install=default``
(``experiments.calibrate.install``); do not edit by hand: a test checks it against the
shipped posterior.
"""

#: Where the point calibration comes from (quoted in each fitted parameter's source).
SOURCE = "calibration=default of 2026-11-30_14-20-17"

#: The posterior's medoid: its values of the fitted parameters.
MEDOID: dict[str, float] = {
    "innovation_p": 0.2555,
    "imitation_q": 0.6476,
    "complex_prob": 0.01995,
    "threshold_mean": 0.1937,
    "joined_signal": 0.5702,
    "return_contagion": 0.6145,
    "activity_base": 1.607,
    "value_weight": 3.198,
    "value_learning": 0.0438,
    "need_mean": 0.7996,
    "abandon_rate": 0.1685,
    "propensity_sigma": 1.959,
    "posting_connect": 0.1606,
    "lurker_share": 0.4692,
}
