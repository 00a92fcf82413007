"""Run configuration: small dataclasses with help text, validated early, saved with the run."""
from adapterstilts.config.train import REPORT_TO, TrainConfig, resolve_report_to

__all__ = ["REPORT_TO", "TrainConfig", "resolve_report_to"]
