"""The point calibration: the posterior medoid (multivariate median) of the shipped default
calibration (``conf/calibration/default.parquet``), which the registry uses as the defaults of
the parameters it fitted (``models.registry``).

Written by ``python -m sim experiment=calibrate experiment.params.install=default``
(``experiments.calibrate.install``); do not edit by hand: a test checks it against the
shipped posterior.
"""

#: Where the point calibration comes from (quoted in each fitted parameter's source).
SOURCE = "calibration=default of 2026-11-30_11-28-25"

#: The posterior's medoid: its values of the fitted parameters.
MEDOID: dict[str, float] = {
    "innovation_p": 0.2537,
    "imitation_q": 0.7201,
    "complex_prob": 0.05044,
    "threshold_mean": 0.3089,
    "joined_signal": 0.8266,
    "return_contagion": 0.1602,
    "activity_base": 1.371,
    "value_weight": 2.067,
    "value_learning": 0.05291,
    "need_mean": 0.7832,
    "abandon_rate": 0.1622,
    "propensity_sigma": 2.413,
    "posting_connect": 0.119,
    "lurker_share": 0.3995,
}
