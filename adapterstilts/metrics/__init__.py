"""Metric registry. Importing this package registers every metric module listed below."""
from adapterstilts.metrics.base import METRICS, Metric, get_metric, register_metric
from adapterstilts.metrics import classification, mlqa, retrieval, seqeval, squad  # noqa: F401,E402
from adapterstilts.metrics import xglue  # noqa: F401,E402  (XGLUE: POS score, WPR nDCG)
from adapterstilts.metrics import ranking  # noqa: F401,E402  (mAP@20: Mewsli-X, LAReQA)

__all__ = ["METRICS", "Metric", "get_metric", "register_metric"]
