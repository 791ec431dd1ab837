"""The point calibration: the parameter set of the shipped default calibration's posterior
(``conf/calibration/default.parquet``) most likely to meet every field pattern at once, among
its most central sets (``experiments.calibrate.choose_point``), which the registry uses as the
defaults of the parameters it fitted (``models.registry``).

Written by ``python -m sim experiment=calibrate experiment.params.install=default`` (or, for
the installed calibration, ``python -m experiments.calibrate --choose-point``); do not edit by
hand: a test checks it against the shipped posterior.
"""

#: Where the point calibration comes from (quoted in each fitted parameter's source).
SOURCE = "calibration=default of 2026-11-30_16-37-36"

#: The point calibration (``choose_point``): its values of the fitted parameters.
POINT: dict[str, float] = {
    "innovation_p": 0.5058,
    "imitation_q": 0.6147,
    "complex_prob": 0.03948,
    "threshold_mean": 0.2415,
    "joined_signal": 0.346,
    "return_contagion": 0.5177,
    "activity_base": 1.154,
    "value_weight": 2.247,
    "value_learning": 0.05801,
    "need_mean": 0.6325,
    "abandon_rate": 0.09266,
    "propensity_sigma": 0.9249,
    "posting_connect": 0.1434,
    "lurker_share": 0.6394,
}
