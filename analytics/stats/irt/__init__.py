"""Item response theory, pure numpy/scipy: models, MML-EM calibration, scoring, information,
linking and DIF. Logistic without the 1.702, as R's mirt reports it:
P(x = 1 | θ) = 1 / (1 + exp(−a(θ − b))), θ ~ N(0, 1).

Modules: :mod:`~analytics.stats.irt.models` (item response functions),
:mod:`~analytics.stats.irt.data` (response patterns), :mod:`~analytics.stats.irt.em`
(Bock–Aitkin EM and standard errors), :mod:`~analytics.stats.irt.scoring` (EAP/MAP,
information), :mod:`~analytics.stats.irt.calibrate` (the tidy frames).
"""
