"""BERT Studio's training worker.

The host writes `<run-dir>/spec.json` and starts `python -m bert_studio_trainer train --run-dir DIR`;
this package trains, and writes events, status, checkpoints and exports into the run folder
(see DESIGN.md, "The run directory").
"""

__version__ = "0.1.0"
