"""The forward pass over tokenised features, shared by evaluation and by English-dev model selection
during training (training/selection.py), so neither depends on the other's internals."""
from __future__ import annotations

import numpy as np
import torch

from adapterstilts.progress import progress


def _lengths(features) -> list[int]:
    """Tokens per feature row (all choices of a multiple-choice row together). From the Arrow column
    without decoding a row when ``features`` is a ``datasets.Dataset`` with flat ``input_ids``."""
    if hasattr(features, "with_format") and "input_ids" in (getattr(features, "column_names", None) or ()):
        import pyarrow as pa
        import pyarrow.compute as pc

        column = features.select_columns(["input_ids"]).with_format("arrow")[:].column("input_ids")
        if not pa.types.is_list(column.type.value_type) and not pa.types.is_large_list(column.type.value_type):
            return pc.list_value_length(column).to_numpy(zero_copy_only=False).tolist()
    column = [f["input_ids"] for f in features] if isinstance(features, list) else features["input_ids"]
    return [len(ids) if not ids or isinstance(ids[0], int) else sum(len(x) for x in ids) for ids in column]


def _rows(features, idx) -> list[dict]:
    """The feature rows ``idx``: one read of the columns for the whole batch from a ``datasets.Dataset``
    (not one per row), or list items."""
    if hasattr(features, "with_format") and hasattr(features, "column_names"):
        columns = features[[int(i) for i in idx]]
        keys = list(columns)
        return [dict(zip(keys, values)) for values in zip(*(columns[k] for k in keys))]
    return [features[int(i)] for i in idx]


def predict(model, fmt, features, tokenizer, *, batch_size: int = 64, desc: str = "predict",
            bf16: bool = False) -> list[np.ndarray]:
    """Per-feature logits (numpy), in feature order. Batches are sorted by length (less padding), run
    under ``torch.inference_mode``; ``bf16`` runs the forward under bf16 autocast on a GPU (about twice as
    fast on XLM-R Large). Formats whose head reads ``<s>`` only run the last layer there only
    (formats/first_token.py), which gives the same logits."""
    import contextlib

    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if bf16 and device.type == "cuda" else contextlib.nullcontext()
    order = np.argsort(_lengths(features), kind="stable")
    out: list[np.ndarray | None] = [None] * len(features)
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    try:
        # inference_mode (no version counters) for evaluation; no_grad when called between training steps
        # (dev selection), so that nothing made here can end up in a later training graph
        with torch.inference_mode() if not was_training else torch.no_grad():
            for idx in progress(batches, desc=desc, total=len(batches)):
                collated = fmt.collate(_rows(features, idx), tokenizer)
                batch = {k: v.to(device) for k, v in collated.items() if k not in fmt.label_keys}
                with autocast:
                    logits = model(**batch)["logits"].float().cpu().numpy()
                for i, row in zip(idx, logits):
                    out[int(i)] = row
    finally:
        model.train(was_training)
    return out  # type: ignore[return-value]
