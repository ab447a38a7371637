"""Evaluation toolkit: OPE metrics, supervised VOT protocol, result files, summaries and plots.

- ``run_ope(trackers, sequences, out_dir, ...)``: one-pass evaluation (module ``runner``; its
  docstring documents inputs, outputs and conventions); ``format_tables(summary)`` prints it.
- ``run_vot(trackers, sequences, out_dir, ...)``: supervised VOT protocol (module ``vot``).
- ``metrics``: success / precision / normalised precision definitions.
"""

from fgsgt_ros.evaluation.runner import format_tables, run_ope, summarise, track_sequence
from fgsgt_ros.evaluation.vot import format_vot_table, run_vot

__all__ = ["run_ope", "summarise", "format_tables", "track_sequence", "run_vot", "format_vot_table"]
