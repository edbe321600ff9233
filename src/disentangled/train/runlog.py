"""``metrics.jsonl``: one JSON object per logged step, appended and flushed line by line."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import torch

from ..io import atomic_write_text


def to_jsonable(terms: dict[str, Any]) -> dict[str, Any]:
    """Scalars to floats, ``*_dims`` vectors to lists; non-finite values to None."""
    out: dict[str, Any] = {}
    for k, v in terms.items():
        if isinstance(v, torch.Tensor):
            v = v.detach().float().cpu()
            v = v.item() if v.numel() == 1 and not k.endswith("_dims") else v.reshape(-1).tolist()
        out[k] = _finite(v)
    return out


def _finite(v: Any) -> Any:
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, list):
        return [_finite(x) for x in v]
    return v


class MetricsLog:
    """Append-only JSONL log. On resume, records past the checkpoint's step are dropped."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._f = None

    def truncate_after(self, step: int) -> None:
        """Keep only records with ``step <= step`` (rewritten atomically)."""
        if not self.path.exists():
            return
        kept = [r for r in read_metrics(self.path) if int(r.get("step", 0)) <= step]
        atomic_write_text(self.path, "".join(json.dumps(r) + "\n" for r in kept))

    def write(self, record: dict[str, Any]) -> None:
        if self._f is None:
            self._f = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open for the run
        self._f.write(json.dumps(record) + "\n")
        self._f.flush()

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None


class NullLog(MetricsLog):
    """The log of a process that does not write (ranks other than 0)."""

    def __init__(self) -> None:
        super().__init__(Path("/dev/null"))

    def truncate_after(self, step: int) -> None:
        pass

    def write(self, record: dict[str, Any]) -> None:
        pass


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """All records of a metrics.jsonl; a torn last line (crash mid-write) is ignored."""
    records = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(rec, dict):
                records.append(rec)
    return records
