"""Reference data shipped with the service: English councils, their neighbours, postcode districts.

Source: ../shared/data (academe/UK-Postcodes, compiled from ONS and Ordnance Survey open data),
rebuilt by scripts/build_refdata.py. Data only: this package imports nothing of the project.
"""

from __future__ import annotations

import csv
import io
from importlib.resources import files


def rows(name: str) -> list[dict[str, str]]:
    """The rows of refdata/<name>.csv as dictionaries."""
    text = files(__name__).joinpath(f"{name}.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))
