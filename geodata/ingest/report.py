"""What an import did (:class:`ImportReport`) and the rows it refused (:class:`RejectedRow`)."""

from __future__ import annotations

import csv
import dataclasses
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

COUNT_KEYS = ("read", "inserted", "updated", "merged", "repaired", "rejected", "skipped")


@dataclass(frozen=True)
class RejectedRow:
    """One refused row: 1-based data row number, the field at fault, why, original values."""

    row: int
    field: str
    reason: str
    values: dict = dataclasses.field(default_factory=dict)  # `field` is the attribute above

    def __str__(self) -> str:
        return f"row {self.row}, {self.field}: {self.reason}"


@dataclass
class ImportReport:
    """The outcome of :func:`geodata.ingest.import_file`."""

    layer: str
    source: str
    file_name: str
    crs: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNT_KEYS, 0))
    notes: list[str] = field(default_factory=list)
    rejects_path: str | None = None
    import_run_id: int | None = None
    seconds: float = 0.0
    path: str = "staged"  # or "direct" (:mod:`geodata.ingest.direct`)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase

    def add(self, key: str, n: int) -> None:
        self.counts[key] = self.counts.get(key, 0) + int(n)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Add the wall time of the ``with`` block to ``timings[name]``."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - started

    def summary(self) -> str:
        """A few human lines: the counts, then the notes."""
        c = self.counts
        lines = [
            f"{self.file_name} → {self.layer} (source {self.source!r}, CRS {self.crs}): "
            f"read {c['read']:,}, inserted {c['inserted']:,}, updated {c['updated']:,}, "
            f"merged {c['merged']:,}, repaired {c['repaired']:,}, rejected {c['rejected']:,}"
            + (f", skipped {c['skipped']:,}" if c.get("skipped") else "")
            + f" in {self.seconds:.1f} s"
        ]
        lines += [f"  note: {n}" for n in self.notes]
        if self.rejects_path:
            lines.append(f"  rejected rows written to {self.rejects_path}")
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return asdict(self)


class RejectsWriter:
    """The ``--skip-bad`` CSV: row, field, reason, original values (JSON)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fh = self.path.open("w", newline="", encoding="utf-8")
        self._csv = csv.writer(self._fh)
        self._csv.writerow(["row", "field", "reason", "values"])

    def write(self, rejects: list[RejectedRow]) -> None:
        for r in rejects:
            values = json.dumps(r.values, ensure_ascii=False, default=str)
            self._csv.writerow([r.row, r.field, r.reason, values])

    def close(self) -> None:
        self._fh.close()
