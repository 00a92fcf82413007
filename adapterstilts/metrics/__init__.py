"""Metric registry. Importing this package registers every metric module listed below."""
from adapterstilts.metrics.base import METRICS, Metric, get_metric, register_metric
from adapterstilts.metrics import classification, mlqa, retrieval, seqeval, squad  # noqa: F401,E402

__all__ = ["METRICS", "Metric", "get_metric", "register_metric"]
