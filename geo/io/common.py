"""What the importers share: the report they return and the way they gather errors before raising."""

import re
from dataclasses import dataclass, field
from pathlib import Path

from geo.errors import InvalidInputError

MAX_ERRORS = 20  # errors listed on one exception; the message names the first and counts the rest


@dataclass
class ImportReport:
    """What an import did: rows inserted, old grid versions retired, geometries repaired, warnings."""

    what: str  # "township grids", "village grids", "grid grids" or "events"
    source: str  # file name
    crs: str = "EPSG:4326"  # the CRS the file was read in, before conversion to WGS84
    inserted: int = 0
    retired: int = 0
    repaired: list[str] = field(default_factory=list)  # features whose geometry make_valid repaired
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One paragraph for the command line."""
        parts = [f"{self.source}: imported {self.inserted} {self.what} (read as {self.crs}, stored as WGS84)"]
        if self.retired:
            parts.append(f"retired {self.retired} older version(s) of the same codes")
        if self.repaired:
            parts.append(
                f"repaired {len(self.repaired)} invalid geometr{'y' if len(self.repaired) == 1 else 'ies'}: "
                + "; ".join(self.repaired)
            )
        text = "; ".join(parts)
        if self.warnings:
            text += "\nwarnings:\n" + "\n".join(f"  - {w}" for w in self.warnings)
        return text

    def to_dict(self) -> dict:
        """The report as plain JSON-able data (for the API)."""
        return {
            "what": self.what,
            "source": self.source,
            "crs": self.crs,
            "inserted": self.inserted,
            "retired": self.retired,
            "repaired": list(self.repaired),
            "warnings": list(self.warnings),
        }


@dataclass
class Problem:
    """One thing wrong with one row or feature, and the error class that says it best."""

    row: int | None  # 1-based data row or feature number; None for the file as a whole
    field: str
    msg: str
    kind: type[InvalidInputError] = InvalidInputError


class Problems:
    """Collects problems while a file is validated, then raises them all as one error."""

    def __init__(self, noun: str = "row"):
        """Problems of rows (CSV/XLSX) or features (boundary files), as the noun says."""
        self.noun = noun
        self.items: list[Problem] = []

    def add(
        self, row: int | None, field_name: str, msg: str, kind: type[InvalidInputError] = InvalidInputError
    ):
        """Note one problem."""
        self.items.append(Problem(row, field_name, msg, kind))

    def __bool__(self) -> bool:
        """True once a problem has been noted."""
        return bool(self.items)

    def raise_if_any(self) -> None:
        """Raise the first problem (by row) as its own error class, listing up to MAX_ERRORS of them."""
        if not self.items:
            return
        items = sorted(self.items, key=lambda p: -1 if p.row is None else p.row)
        first = items[0]
        more = f" (and {len(items) - 1} more problem(s))" if len(items) > 1 else ""
        errors = [{self.noun: p.row, "field": p.field, "msg": p.msg} for p in items[:MAX_ERRORS]]
        raise first.kind(first.msg + more, where=_where(self.noun, first), errors=errors)


def _where(noun: str, problem: Problem) -> str:
    if problem.row is None:
        return problem.field
    return f"{noun} {problem.row}, {problem.field}"


def require_file(path: str | Path) -> Path:
    """The path as a Path, or InvalidInputError when there is no such file."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"no such file: {path}", where="file")
    return path


_NOTE = re.compile(r"\s*[（(][^）)]*[）)]\s*$")  # a trailing note in brackets: 经度（WGS84）, lat (WGS84)


def normalise_columns(columns, aliases: dict[str, str]) -> dict[str, str]:
    """Map each file column to our field name (case-insensitive, Chinese aliases, a trailing note in
    brackets ignored: 经度（WGS84） is 经度); unknown ones map to ''."""
    mapping = {}
    for col in columns:
        name = str(col).replace("\ufeff", "").strip()
        bare = _NOTE.sub("", name) or name
        found = ""
        for candidate in (name, bare):
            key = candidate.lower().replace(" ", "_")
            found = found or aliases.get(key, aliases.get(candidate, ""))
        mapping[col] = found
    return mapping
