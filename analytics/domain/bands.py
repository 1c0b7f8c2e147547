"""Bands, lines and thresholds: the cut points every report shares.

* Difficulty P (得分率): very_easy > .90, easy ≥ .70, medium ≥ .40, hard ≥ .20, very_hard
  below (a boundary value belongs to the easier band).
* Discrimination D (Ebel & Frisbie 1991): very_good ≥ .40, good ≥ .30, acceptable ≥ .20,
  poor below.
* Grade bands (等级) A–D: lower bounds of A, B, C as shares of the full score when the paper
  gives none (85 %, 70 %, 60 %).
* 三率 lines: excellent (优秀) 85 %, pass (及格) 60 %, low (低分) 40 % of the full score when the
  paper gives none; the 临界生 buffer 5 %.
* Kelley's (1939) upper and lower groups: 27 % each.
* The item flags of :func:`analytics.item_stats`.
* 学困生 (:func:`analytics.struggling_students`): in the district's bottom 10 %, or below
  the district mean and under the low line (低分线) or with a growth percentile of 20 or less.
"""

from __future__ import annotations

DIFFICULTY_BANDS = ("very_easy", "easy", "medium", "hard", "very_hard")
DIFFICULTY_CUTS = (0.90, 0.70, 0.40, 0.20)   # very_easy above the first; the others include it
DISCRIMINATION_BANDS = ("very_good", "good", "acceptable", "poor")
DISCRIMINATION_CUTS = (0.40, 0.30, 0.20)     # lower bounds, included

GRADE_BANDS = ("A", "B", "C", "D")
DEFAULT_BANDS = (0.85, 0.70, 0.60)           # lower bounds of A, B, C as shares of full score

LINES = ("excellent", "pass", "low")
DEFAULT_EXCELLENT = 0.85
DEFAULT_PASS = 0.60
DEFAULT_LOW = 0.40
DEFAULT_BORDERLINE = 0.05                    # 临界生: this share of the full score under a line

KELLEY_SHARE = 0.27

# item flags (analytics.items.item_stats)
EASY_P = 0.90          # too easy above this difficulty
HARD_P = 0.20          # too hard below
WEAK_D = 0.20          # weak discrimination below (Ebel: poor)
OMIT_RATE = 0.10       # many omissions above
ATTRACTIVE_MIN_SHARE = 0.05  # a distractor discriminating positively counts from this share

# 学困生 (struggling students, analytics.struggling_students): a student is listed when
STRUGGLING_SHARE = 0.10        # in the district's bottom 10 % (percent_rank < 0.10), or
STRUGGLING_LINE = "low"        # the total is under this line of the paper (低分线; or "pass"), or
LOW_GROWTH_SGP = 20            # the growth percentile is ≤ 20 (the bottom fifth);
STRUGGLING_BELOW_MEAN = True   # the last two only below the district mean (z < 0): an
                               # above-average student is never 学困生
STRUGGLING_REASONS = ("bottom_share", "below_low", "below_pass", "low_growth")  # first wins
