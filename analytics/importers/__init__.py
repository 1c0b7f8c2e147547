"""Files → warehouse: roster, specification table, marking export, totals, questionnaires.

Each importer reads one file (CSV in UTF-8, UTF-8 with BOM or GBK/GB18030, or XLSX), finds the
header under any title rows, maps Chinese or English headers through documented synonyms (or
a TOML mapping file), validates everything in SQL, and loads the file whole or not at all in one
transaction, logging every attempt in ``import_log``. File formats: ``docs/formats.md``.
"""

from analytics.importers.common import ImportResult
from analytics.importers.paper import import_paper
from analytics.importers.roster import import_roster
from analytics.importers.scores import import_scores
from analytics.importers.survey import import_survey
from analytics.importers.totals import import_totals

__all__ = [
    "ImportResult",
    "import_paper",
    "import_roster",
    "import_scores",
    "import_survey",
    "import_totals",
]
