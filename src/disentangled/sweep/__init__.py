"""Sweeps: many trials (presets x hyper-parameters x seeds) on Ray, each a normal run directory,
resumable and fault tolerant, and their aggregation into one table and the study's figures.

``load_sweep(path_or_preset) -> SweepSpec``, ``expand(spec) -> [Trial]``,
``run_sweep(spec, out, address=, resume=)`` (needs Ray: ``pip install 'disentangled[sweep]'``),
``write_report(sweep_dir)``. See docs/sweeps.md.
"""

from .expand import Trial, expand, trial_id
from .report import SweepReport, summary, write_report
from .runner import SweepOutcome, run_sweep
from .spec import SweepError, SweepSpec, load_sweep, parse_sweep, sweep_preset_names
from .state import SweepDir
from .table import collect
from .trial import TrialOptions, run_trial

__all__ = [
    "SweepDir",
    "SweepError",
    "SweepOutcome",
    "SweepReport",
    "SweepSpec",
    "Trial",
    "TrialOptions",
    "collect",
    "expand",
    "load_sweep",
    "parse_sweep",
    "run_sweep",
    "run_trial",
    "summary",
    "sweep_preset_names",
    "trial_id",
    "write_report",
]
