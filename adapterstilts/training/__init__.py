"""Training: one pipeline for single-task and multi-task runs (pipeline.py), the Trainer subclass
that checkpoints only trainable weights, English-dev model selection (selection.py)."""
