"""The point calibration: the weighted posterior medians of the shipped default calibration
(``conf/calibration/default.parquet``), which the registry uses as the defaults of the
parameters it fitted (``models.registry``).

Written by ``python -m sim experiment=calibrate experiment.params.install=default``
(``experiments.calibrate.install``); do not edit by hand: a test checks it against the
shipped posterior.
"""

#: Where the medians come from (quoted in each fitted parameter's source).
SOURCE = "none installed"  # e.g. "calibration=default of <its results folder>"

#: Weighted posterior median of each fitted parameter.
MEDIANS: dict[str, float] = {}
