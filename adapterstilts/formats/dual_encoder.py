"""Trained retrieval (XTREME-R's Mewsli-X and LAReQA): one shared encoder embeds queries and candidates,
trained with in-batch negatives; prediction ranks candidates by cosine similarity.

Protocol as google-research/xtreme ``third_party/bert.py`` ``BertForRetrieval`` (also used for XLM-R):
one tower for both sides; an embedding is the pooled ``<s>`` state (dense + tanh, BERT's pooler),
L2-normalised; the logits of a batch are ``cos(q_i, c_j) * logit_scale`` with ``logit_scale`` a learnt
scalar initialised to 100; the loss is cross-entropy of query i against candidate i (the other
candidates of the batch are its negatives, one direction only). Here the dense + tanh pooler belongs
to the head (saved with it, trained with the module) rather than to the encoder, so a frozen backbone
with LoRA / adapters still learns it; the official code fine-tunes the whole model, pooler included.
The official XLM-R runs also pass ``--do_lower_case`` (lower-casing the text); that is not done here.

Canonical example columns (one table for training and evaluation):

- ``role``: "pair" (training: query ``text`` with its positive candidate ``positive``), "query"
  (evaluation: ``relevant`` lists the ids of its relevant candidates) or "candidate" (evaluation);
- ``id``: the query or candidate id; ``text``: the query or candidate text; ``positive``: the positive
  candidate's text of a pair ("" otherwise); ``relevant``: for a query, the ids of its relevant
  candidates or keys naming them; for a candidate, the keys it is relevant to (LAReQA: the question ids
  whose answer sentence it is, in whichever language); [] otherwise. A query's relevant set is every
  candidate whose id or key it lists; a query whose set is empty (an unlabelled test set) is not scored.

Training features (``train=True``) take "pair" rows only: ``input_ids`` / ``attention_mask`` (query)
and ``candidate_input_ids`` / ``candidate_attention_mask``. Evaluation features (``train=False``) are
one sequence per query or candidate row with ``is_query``; the forward returns the normalised
embedding as "logits", and ``postprocess`` ranks every candidate of the evaluation set for every query
(exact cosine, top ``TOP_K``), giving the ranked id lists and relevant id lists ``map_at_20`` takes.
Pair rows given to evaluation are split into a query and a candidate (the positive, deduplicated by
text), so an English dev set of pairs can select checkpoints (in-set retrieval).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from adapterstilts.errors import UserError
from adapterstilts.formats.base import Format, pad_sequences, register_format
from adapterstilts.formats.first_token import first_token_encode

ROLES = ("pair", "query", "candidate")
TOP_K = 20
LOGIT_SCALE_INIT = 100.0  # third_party/bert.py: torch.nn.init.constant_(self.logit_scale, 100.0)


def dual_encoder_features():
    """The ``datasets.Features`` of the canonical columns (tasks build their examples with them)."""
    from datasets import Features, List, Value

    return Features({"role": Value("string"), "id": Value("string"), "text": Value("string"),
                     "positive": Value("string"), "relevant": List(Value("string"))})


def rows_to_dataset(rows: list[dict]):
    """Canonical rows -> ``datasets.Dataset`` with the canonical features (missing keys filled)."""
    from datasets import Dataset

    full = [{"role": r["role"], "id": str(r.get("id", "")), "text": r.get("text") or "", "positive": r.get("positive") or "",
             "relevant": [str(x) for x in r.get("relevant") or []]} for r in rows]
    for r in full:
        if r["role"] not in ROLES:
            raise UserError(f"dual_encoder row role {r['role']!r} is not one of {', '.join(ROLES)}")
    return Dataset.from_list(full, features=dual_encoder_features()) if full else \
        Dataset.from_dict({k: [] for k in dual_encoder_features()}, features=dual_encoder_features())


class DualEncoderHead(nn.Module):
    """Pooler (dense + tanh over ``<s>``) and the learnt logit scale."""

    def __init__(self, hidden_size: int):
        super().__init__()
        self.dense = nn.Linear(hidden_size, hidden_size)
        self.logit_scale = nn.Parameter(torch.full((1,), LOGIT_SCALE_INIT))

    def forward(self, first_token: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(torch.tanh(self.dense(first_token)).float(), p=2, dim=-1)


@register_format
class DualEncoder(Format):
    name = "dual_encoder"
    preprocess_version = 1
    label_keys = ()  # in-batch negatives: the labels are the batch positions

    def preprocess(self, examples, tokenizer, task, *, max_length: int, stride: int, train: bool):
        from datasets import Dataset

        query_length = getattr(task, "max_query_length", None) or max_length
        rows = examples.to_list() if len(examples) else []
        if train:
            bad = sorted({r["role"] for r in rows} - {"pair"})
            if bad:
                raise UserError(f"{task.name}: training data must be query/candidate pairs, got role(s) {', '.join(bad)}; "
                                "check the task's canonicalize")
            q = tokenizer([r["text"] for r in rows], truncation=True, max_length=query_length) if rows else {"input_ids": [], "attention_mask": []}
            c = tokenizer([r["positive"] for r in rows], truncation=True, max_length=max_length) if rows else {"input_ids": [], "attention_mask": []}
            return Dataset.from_dict({"input_ids": q["input_ids"], "attention_mask": q["attention_mask"],
                                      "candidate_input_ids": c["input_ids"], "candidate_attention_mask": c["attention_mask"],
                                      "example_index": list(range(len(rows)))})
        texts, lengths, is_query, index = [], [], [], []
        for i, r in enumerate(rows):
            if r["role"] in ("query", "pair"):
                texts.append(r["text"]), lengths.append(query_length), is_query.append(1), index.append(i)
            if r["role"] in ("candidate", "pair"):
                texts.append(r["positive"] if r["role"] == "pair" else r["text"])
                lengths.append(max_length), is_query.append(0), index.append(i)
        ids, masks = [], []
        for text, length in zip(texts, lengths):
            enc = tokenizer(text, truncation=True, max_length=length)
            ids.append(enc["input_ids"])
            masks.append(enc["attention_mask"])
        return Dataset.from_dict({"input_ids": ids, "attention_mask": masks, "is_query": is_query, "example_index": index})

    def collate(self, features: list[dict[str, Any]], tokenizer) -> dict[str, torch.Tensor]:
        pad = tokenizer.pad_token_id
        batch = {"input_ids": pad_sequences([f["input_ids"] for f in features], pad),
                 "attention_mask": pad_sequences([f["attention_mask"] for f in features], 0)}
        if "candidate_input_ids" in features[0]:
            batch["candidate_input_ids"] = pad_sequences([f["candidate_input_ids"] for f in features], pad)
            batch["candidate_attention_mask"] = pad_sequences([f["candidate_attention_mask"] for f in features], 0)
        return batch

    def build_head(self, hidden_size: int, task) -> nn.Module:
        return DualEncoderHead(hidden_size)

    def forward(self, encoder, head, batch):
        queries = head(first_token_encode(encoder, batch))  # the last layer at <s> only (same values)
        out = {"logits": queries}
        if "candidate_input_ids" in batch:
            candidates = head(first_token_encode(encoder, {"input_ids": batch["candidate_input_ids"],
                                                           "attention_mask": batch["candidate_attention_mask"]}))
            scores = queries @ candidates.T * head.logit_scale.float()
            labels = torch.arange(scores.shape[0], device=scores.device)
            out["loss"] = nn.functional.cross_entropy(scores, labels)
        return out

    def postprocess(self, examples, features, logits, task):
        rows = examples.to_list() if not isinstance(examples, list) else examples
        index = list(features["example_index"])
        is_query = list(features["is_query"])
        q_vec, q_rel, c_vec, c_ids, c_keys = [], [], [], [], {}
        pair_candidates: dict[str, str] = {}  # positive text -> candidate id (pairs share candidates by text)
        for vec, i, query in zip(logits, index, is_query):
            row = rows[i]
            if query:
                q_vec.append(np.asarray(vec, dtype=np.float32))
                q_rel.append(list(row["relevant"]) if row["role"] == "query" else [_pair_candidate_id(row, pair_candidates)])
            elif row["role"] == "pair":
                cid = _pair_candidate_id(row, pair_candidates)
                if cid not in c_ids:
                    c_vec.append(np.asarray(vec, dtype=np.float32))
                    c_ids.append(cid)
            else:
                c_vec.append(np.asarray(vec, dtype=np.float32))
                c_ids.append(row["id"])
                for key in row["relevant"]:  # a candidate's query keys (LAReQA: the question ids it answers)
                    c_keys.setdefault(key, []).append(row["id"])
        if not q_vec or not c_vec:
            raise UserError(f"{task.name}: the evaluation set needs queries and candidates "
                            f"(got {len(q_vec)} queries, {len(c_vec)} candidates)")
        known = set(c_ids)
        q_rel = [sorted({x for key in rel for x in ([key] if key in known else []) + c_keys.get(key, [])}) for rel in q_rel]
        keep = [n for n, rel in enumerate(q_rel) if rel]  # queries without gold (unlabelled test) cannot be scored
        if not keep:
            raise UserError(f"{task.name}: no query of the evaluation set has a gold candidate (an unlabelled test "
                            "split?); evaluate the validation split")
        ranked = rank_candidates(np.stack([q_vec[n] for n in keep]), np.stack(c_vec), TOP_K)
        predictions = [[c_ids[j] for j in row] for row in ranked]
        return predictions, [q_rel[n] for n in keep], {}


def _pair_candidate_id(row: dict, seen: dict[str, str]) -> str:
    return seen.setdefault(row["positive"], f"pos:{row['id']}")


def rank_candidates(queries: np.ndarray, candidates: np.ndarray, k: int = TOP_K) -> list[list[int]]:
    """Indices of the top-k candidates of each query by cosine similarity (exact; best first; ties keep
    the lower index first, as a stable sort)."""
    q = torch.nn.functional.normalize(torch.as_tensor(queries).float(), dim=1)
    c = torch.nn.functional.normalize(torch.as_tensor(candidates).float(), dim=1)
    scores = (q @ c.T).numpy()
    k = min(k, scores.shape[1])
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return order.tolist()
