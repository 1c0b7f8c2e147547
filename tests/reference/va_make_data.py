"""Writes va_data.csv, the small seeded data set fitted by va_lme4.R (provenance of the lme4
reference values used by tests/test_value_added.py). Run: python va_make_data.py"""

import numpy as np
import pandas as pd

rng = np.random.default_rng(20240501)
J = 25
nj = rng.integers(6, 40, J)
school = np.repeat(np.arange(1, J + 1), nj)
N = len(school)
klass = school * 10 + rng.integers(1, 4, N)
x = rng.normal(size=N)
female = rng.integers(0, 2, N).astype(float)
ses = rng.normal(size=N)
u = rng.normal(0, 0.4, J)
v = dict(zip(np.unique(klass), rng.normal(0, 0.25, len(np.unique(klass))), strict=True))
y = (0.2 + 0.65 * x + 0.1 * female + 0.15 * ses + u[school - 1]
     + np.array([v[k] for k in klass]) + rng.normal(0, 0.8, N))
pd.DataFrame({"school": school, "class": klass, "y": y.round(6), "x": x.round(6),
              "female": female, "ses": ses.round(6)}).to_csv("va_data.csv", index=False)
