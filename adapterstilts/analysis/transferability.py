"""Choosing the intermediate task without training the grid: LogME, task-embedding similarity, regret@k.

**LogME** (You et al., ICML 2021, "LogME: Practical Assessment of Pre-trained Models for Transfer
Learning"). Features ``F`` (n x D) of the target's English training data, taken from the encoder with
one intermediate module active, and a target ``y`` (n). Bayesian linear regression with prior
``w ~ N(0, alpha^-1 I)`` and noise ``y | F, w ~ N(F w, beta^-1 I)`` has the log evidence (the log
marginal likelihood of ``y``; You et al. Sec. 4, Bishop PRML Eq. 3.86)::

    L(alpha, beta) = n/2 log beta + D/2 log alpha - n/2 log 2pi
                     - beta/2 ||F m - y||^2 - alpha/2 m'm - 1/2 log |A|,
    A = alpha I + beta F'F,    m = beta A^-1 F' y.

LogME maximises ``L`` over (alpha, beta) by MacKay's fixed point (You et al. Algorithm 1; PRML Eqs.
3.91, 3.92, 3.95), starting from alpha = beta = 1::

    gamma = sum_i beta s_i^2 / (alpha + beta s_i^2),   alpha <- gamma / m'm,   beta <- (n - gamma) / ||F m - y||^2

with ``s_i`` the singular values of ``F``: one thin SVD ``F = U S V'`` makes every iteration O(rank)
(``z = U'y``; ``m'm``, the residual and ``log|A|`` are sums over the singular values, and the part
of ``y`` outside F's column space adds ``||y||^2 - ||z||^2`` to the residual). The score is the
maximised evidence divided by n, averaged over the target's columns: one column per class (one-hot)
for classification and tagging, as You et al. do. Higher = the features explain the labels better
with a linear model = the module is expected to transfer better.

Features per format (``FEATURE_FORMATS``):

- ``classification``: the mean-pooled last hidden state of each example (over its non-padding
  tokens), one-hot labels.
- ``multiple_choice``: one row per *choice*: the mean-pooled last hidden state of the (question,
  choice) pair, target 1 for the gold choice and 0 for the others. The format's head is exactly a
  linear scorer applied to each pair separately (``Linear(hidden, 1)``, softmax over choices), so a
  per-choice linear model is the LogME model of that head; concatenating the choices would tie the
  score to the choices' order, which the head never sees.
- ``tagging``: one row per word: the last hidden state of the piece that carries the word's label
  (the format's ``label_positions``: its first sub-word), one-hot tags.

QA (a span, not a label per example) and retrieval formats have no LogME model here: use the
embedding method for them.

**Task embeddings** (Poth et al., EMNLP 2021, "What to Pre-Train on? Efficient Intermediate Task
Selection", their text-embedding variant, after Vu et al.'s TextEmb): a task is the mean embedding
of (up to ``max_examples`` of) its English training examples under the *plain* backbone (no module,
so every task lies in the same space), and an intermediate's score for a target is the cosine
similarity of the two task embeddings. An example's embedding is the mean-pooled last hidden state
of its tokenised sequence(s) (a multiple-choice example: the mean over its choices; a long QA context
or tagging sentence: each window a row): the last layer, as TextEmb uses, mean pooling because the
plain backbone's ``<s>`` state is not trained to summarise a sequence. Each row weighs the same, so
long SQuAD contexts do not drown short NLI pairs.

**Regret@k** (Poth et al. Sec. 4): with ``O(t)`` the best trained score of any candidate intermediate
on target t and ``M_k(t)`` the best trained score among the method's top k picks,
``Regret@k = (O(t) - M_k(t)) / O(t)``, reported in percent. 0 = the best intermediate was among the
top k."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from adapterstilts.errors import UserError

METHODS = ("logme", "embedding")
FEATURE_FORMATS = ("classification", "multiple_choice", "tagging")  # formats LogME serves
DEFAULT_MAX_EXAMPLES = 1000
IGNORE_INDEX = -100


# ------------------------------------------------------------------------------------------ LogME
@dataclass(frozen=True)
class _Spectrum:
    """What the evidence needs of (F, y), from one thin SVD of F."""

    n: int
    dim: int
    sigma: np.ndarray  # squared singular values (the eigenvalues of F'F that are not 0)
    z: np.ndarray  # U'y
    outside: float  # ||y||^2 - ||U'y||^2: the part of y no linear model of F can fit

    @classmethod
    def of(cls, features: np.ndarray, y: np.ndarray, svd: tuple[np.ndarray, np.ndarray] | None = None) -> "_Spectrum":
        f = np.asarray(features, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64).reshape(-1)
        if f.ndim != 2 or f.shape[0] != y.shape[0] or f.shape[0] == 0:
            raise ValueError(f"features {f.shape} and targets {y.shape} do not match")
        u, s = svd if svd is not None else _svd(f)
        z = u.T @ y
        return cls(f.shape[0], f.shape[1], s ** 2, z, max(float(y @ y - z @ z), 0.0))

    def parts(self, alpha: float, beta: float) -> tuple[float, float, float, float]:
        """(gamma, m'm, ||F m - y||^2, log|A|) at (alpha, beta)."""
        denom = alpha + beta * self.sigma
        gamma = float(np.sum(beta * self.sigma / denom))
        mm = float(np.sum((beta * np.sqrt(self.sigma) * self.z / denom) ** 2))
        residual = float(np.sum((alpha * self.z / denom) ** 2)) + self.outside
        logdet = float(np.sum(np.log(denom))) + (self.dim - self.sigma.size) * math.log(alpha)
        return gamma, mm, residual, logdet

    def evidence(self, alpha: float, beta: float) -> float:
        _, mm, residual, logdet = self.parts(alpha, beta)
        n, d = self.n, self.dim
        return (n / 2 * math.log(beta) + d / 2 * math.log(alpha) - n / 2 * math.log(2 * math.pi)
                - beta / 2 * residual - alpha / 2 * mm - logdet / 2)


def _svd(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(U, s) of the thin SVD, without the directions of numerically zero singular values."""
    f = np.asarray(features, dtype=np.float64)
    u, s, _ = np.linalg.svd(f, full_matrices=False)
    keep = s > s.max(initial=0.0) * max(f.shape) * np.finfo(np.float64).eps
    return u[:, keep], s[keep]


def log_evidence(features: np.ndarray, y: np.ndarray, alpha: float, beta: float) -> float:
    """The log evidence ``L(alpha, beta)`` of Bayesian linear regression (not divided by n)."""
    return _Spectrum.of(features, y).evidence(alpha, beta)


@dataclass(frozen=True)
class Evidence:
    value: float  # the maximised log evidence divided by n
    alpha: float
    beta: float
    iterations: int


_TINY = 1e-12


def maximise_evidence(features: np.ndarray, y: np.ndarray, *, tol: float = 1e-10, max_iter: int = 1000,
                      svd: tuple[np.ndarray, np.ndarray] | None = None) -> Evidence:
    """LogME's fixed-point iteration for one target column (alpha = beta = 1 at the start). Without
    signal in ``y``, alpha grows without bound (the evidence still converges); ``max_iter`` stops it."""
    spectrum = _Spectrum.of(features, y, svd)
    alpha = beta = 1.0
    for iteration in range(1, max_iter + 1):
        gamma, mm, residual, _ = spectrum.parts(alpha, beta)
        new_alpha = gamma / max(mm, _TINY)
        new_beta = max(spectrum.n - gamma, _TINY) / max(residual, _TINY)
        done = abs(new_alpha - alpha) <= tol * alpha and abs(new_beta - beta) <= tol * beta
        alpha, beta = max(new_alpha, _TINY), max(new_beta, _TINY)
        if done:
            break
    return Evidence(spectrum.evidence(alpha, beta) / spectrum.n, alpha, beta, iteration)


def logme(features: np.ndarray, labels: Sequence[float], *, one_hot: bool = True) -> float:
    """LogME of features for labels: the mean over the label's one-hot columns of the maximised
    evidence per example (``one_hot=False``: ``labels`` is one real-valued target column). Classes
    are the labels that occur (a class absent from the sample says nothing about the features)."""
    labels = np.asarray(labels)
    if labels.shape[0] != np.asarray(features).shape[0]:
        raise ValueError(f"{np.asarray(features).shape[0]} feature rows but {labels.shape[0]} labels")
    svd = _svd(features)  # once for every column
    if not one_hot:
        return maximise_evidence(features, labels.astype(np.float64), svd=svd).value
    classes = np.unique(labels)
    if classes.size < 2:
        raise UserError(f"LogME needs at least two classes in the target's examples, found {classes.size}; "
                        "use more examples (--max-examples)")
    return float(np.mean([maximise_evidence(features, (labels == c).astype(np.float64), svd=svd).value
                          for c in classes]))


# ------------------------------------------------------------------------------------------ similarity
def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b / norm) if norm > 0 else 0.0


def rank(scores: dict[str, float]) -> list[tuple[str, float]]:
    """(name, score), best (highest) first; ties keep the given order."""
    return sorted(scores.items(), key=lambda item: -item[1])


def rank_by_similarity(target: np.ndarray, candidates: dict[str, np.ndarray]) -> list[tuple[str, float]]:
    return rank({name: cosine(target, emb) for name, emb in candidates.items()})


def regret_at_k(ranking: Sequence[str], trained: dict[str, float], k: int) -> float:
    """Poth et al.'s Regret@k in percent: 100 * (best trained score - best trained score of the top k
    picks) / best trained score, over the candidates that have a trained score."""
    picks = [name for name in ranking if name in trained][:k]
    if not picks or k < 1:
        raise ValueError("regret@k needs at least one ranked candidate with a trained score and k >= 1")
    best, got = max(trained.values()), max(trained[name] for name in picks)
    if best == 0:
        return 0.0 if got == best else math.inf
    return 100.0 * (best - got) / abs(best)


# ------------------------------------------------------------------------------------------ features
def _sequences(row: dict) -> list[list[int]]:
    """The token sequences of one feature row: one, or one per choice (multiple choice), plus a
    dual encoder's candidate."""
    ids = row["input_ids"]
    seqs = [list(s) for s in ids] if ids and isinstance(ids[0], (list, tuple)) else [list(ids)]
    if row.get("candidate_input_ids"):
        seqs.append(list(row["candidate_input_ids"]))
    return seqs


def _encode(encoder, seqs: list[list[int]], pad_id: int, batch_size: int):
    """Yield (start index, last hidden states (B, L, H) float32, attention mask (B, L)) per batch."""
    import torch

    from adapterstilts.formats.base import pad_sequences

    device = next(encoder.parameters()).device
    for start in range(0, len(seqs), batch_size):
        chunk = seqs[start:start + batch_size]
        ids = pad_sequences(chunk, pad_id).to(device)
        mask = pad_sequences([[1] * len(s) for s in chunk], 0).to(device)
        with torch.no_grad():
            states = encoder(input_ids=ids, attention_mask=mask).last_hidden_state.float()
        yield start, states, mask


def _pooled(encoder, seqs, pad_id, batch_size) -> np.ndarray:
    from adapterstilts.evaluation.retrieval import mean_pool

    out = []
    for _, states, mask in _encode(encoder, seqs, pad_id, batch_size):
        out.append(mean_pool(states, mask).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 0))


def logme_features(encoder, fmt_name: str, features, pad_id: int, batch_size: int = 32
                   ) -> tuple[np.ndarray, np.ndarray, bool]:
    """(F, labels, one_hot) of a target's feature rows under ``encoder``, as the module docstring says."""
    encoder.eval()
    rows = [features[i] for i in range(len(features))]
    if fmt_name == "classification":
        rows = [r for r in rows if r.get("labels") is not None and int(r["labels"]) >= 0]
        return _pooled(encoder, [list(r["input_ids"]) for r in rows], pad_id, batch_size), \
            np.array([int(r["labels"]) for r in rows]), True
    if fmt_name == "multiple_choice":
        seqs, ys = [], []
        for r in rows:
            gold = r.get("labels")
            if gold is None or int(gold) == IGNORE_INDEX:
                continue
            for c, choice in enumerate(r["input_ids"]):
                seqs.append(list(choice))
                ys.append(1.0 if c == int(gold) else 0.0)
        return _pooled(encoder, seqs, pad_id, batch_size), np.array(ys), False
    if fmt_name == "tagging":
        rows = [r for r in rows if r.get("labels") is not None and r["label_positions"]]
        feats, tags = [], []
        for start, states, _ in _encode(encoder, [list(r["input_ids"]) for r in rows], pad_id, batch_size):
            for b, row in enumerate(rows[start:start + states.shape[0]]):
                for pos in row["label_positions"]:
                    if int(row["labels"][pos]) != IGNORE_INDEX:
                        feats.append(states[b, pos].cpu().numpy())
                        tags.append(int(row["labels"][pos]))
        return np.stack(feats) if feats else np.zeros((0, 0)), np.array(tags), True
    raise UserError(f"LogME has no features for the {fmt_name} format; use --method embedding")


def text_embedding(encoder, features, pad_id: int, batch_size: int = 32) -> np.ndarray:
    """A task's embedding: the mean over its feature rows of each row's mean-pooled last hidden state
    (a row with several sequences, e.g. the choices of a question: their mean)."""
    encoder.eval()
    owners, seqs = [], []
    for i in range(len(features)):
        for s in _sequences(features[i]):
            owners.append(i)
            seqs.append(s)
    if not seqs:
        raise UserError("no training examples to embed; check --data and --max-examples")
    pooled = _pooled(encoder, seqs, pad_id, batch_size)
    owners = np.array(owners)
    per_row = np.stack([pooled[owners == i].mean(axis=0) for i in np.unique(owners)])
    return per_row.mean(axis=0)


# ------------------------------------------------------------------------------------------ checks
def check_method(method: str) -> None:
    if method not in METHODS:
        raise UserError(f"unknown --method {method!r}; choose one of: {', '.join(METHODS)}")


def training_task(name: str, what: str = "target"):
    """The task, when it has English training data to select with (one line otherwise)."""
    from adapterstilts.tasks import get_task

    task = get_task(name)
    try:
        task.sources("train", task.train_language)
    except UserError:
        raise UserError(f"{what} {name!r} has no training data ({task.format} is evaluated directly from the "
                        "encoder), so there is nothing to select an intermediate with; pick a target with "
                        "training data") from None
    return task


def check_logme_format(task) -> None:
    if task.format not in FEATURE_FORMATS:
        raise UserError(f"LogME needs a label per example or word, and {task.name!r} is a {task.format} task; "
                        "use --method embedding")


def run_tasks(run) -> list[str]:
    """The registered tasks a run was trained on (a multi-task run: all of them)."""
    from adapterstilts.tasks import TASKS

    names = list(run.manifest.get("tasks") or [run.task])
    unknown = [n for n in names if n not in TASKS]
    if unknown:
        raise UserError(f"{run.path} records task {unknown[0]!r}, which is not a registered task, so it has no "
                        "training data to embed; use --method logme for it")
    return names


def check_data(data: str) -> None:
    from pathlib import Path

    if data not in ("sample", "hub") and not Path(data).is_dir():
        raise UserError(f"--data {data!r} is neither 'sample', 'hub' nor an existing directory")


@dataclass
class Candidate:
    label: str  # what the ranking prints: the reference as given
    run: object  # adapterstilts.runs.Run
    tasks: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------------ ranking
@dataclass
class Ranking:
    target: str
    method: str
    scores: list[tuple[str, float]]  # best first
    seconds: float
    examples: int | None  # the first N training examples of each task used (None: all)
    used: dict[str, int] = field(default_factory=dict)  # task -> training examples actually read (<= examples)

    def to_dict(self) -> dict:
        return {"target": self.target, "method": self.method, "seconds": round(self.seconds, 3),
                "max_examples": self.examples, "examples_used": dict(self.used),
                "ranking": [{"rank": i + 1, "intermediate": name, "score": score}
                            for i, (name, score) in enumerate(self.scores)]}


def prepare(target: str, refs: Sequence[str], method: str, *, data: str, model: str | None = None,
            allow_pickle: bool | None = None, log: Callable[[str], None] = print):
    """Everything ``select`` checks before a model loads: (target task, candidates)."""
    from adapterstilts.runs.refs import resolve_run

    check_method(method)
    check_data(data)
    task = training_task(target)
    if method == "logme":
        check_logme_format(task)
    if len(refs) < 2:
        raise UserError(f"give at least two intermediate runs to rank (-i RUN1 -i RUN2 ...); got {len(refs)}")
    candidates = [Candidate(str(ref), resolve_run(ref, model=model, allow_pickle=allow_pickle, log=log))
                  for ref in refs]
    hashes = {c.run.config_hash for c in candidates}
    if len(hashes) > 1:
        raise UserError("the intermediate runs were trained on different base models "
                        f"({', '.join(sorted({c.run.base_model for c in candidates}))}); rank runs of one base model")
    if method == "embedding":
        for c in candidates:
            c.tasks = run_tasks(c.run)
            for name in c.tasks:
                training_task(name, what="intermediate task")
    return task, candidates


def _features(task, tokenizer, data: str, max_examples: int | None, used: dict[str, int] | None = None):
    from adapterstilts.data.features import build_features
    from adapterstilts.formats import get_format

    fmt = get_format(task.format)
    max_length = task.max_length
    stride = min(task.doc_stride, max_length // 3)  # as training does without --doc-stride
    examples, features = build_features(task, fmt, tokenizer, split="train", language=task.train_language, data=data,
                                        max_length=max_length, stride=stride, train=True, limit=max_examples)
    if used is not None:  # the sample may hold fewer than --max-examples: say what was read
        used[task.name] = len(examples)
    if len(features) == 0:
        raise UserError(f"{task.name} has no {task.train_language} training examples in --data {data}")
    return fmt, features


def _base(candidates: list[Candidate], model: str | None) -> tuple[str, str | None]:
    run = candidates[0].run
    return (model, None) if model else (run.base_model, run.manifest["base_model"].get("revision"))


def logme_scores(candidates: list[Candidate], targets: list, *, data: str, max_examples: int | None,
                 model: str | None = None, batch_size: int = 32, log: Callable[[str], None] = print,
                 used: dict[str, int] | None = None) -> dict[str, dict[str, float]]:
    """target -> candidate label -> LogME; each run's encoder is loaded once for all targets."""
    from adapterstilts.model.assemble import load_run_encoder
    from adapterstilts.model.backbone import BackboneOptions, load_tokenizer

    tokenizer = load_tokenizer(*_base(candidates, model))
    features = {t.name: _features(t, tokenizer, data, max_examples, used) for t in targets}
    scores: dict[str, dict[str, float]] = {t.name: {} for t in targets}
    for c in candidates:
        encoder = load_run_encoder(c.run, BackboneOptions(model=model) if model else None, log)
        for t in targets:
            fmt, feats = features[t.name]
            f, y, one_hot = logme_features(encoder, fmt.name, feats, tokenizer.pad_token_id, batch_size)
            if len(y) == 0:
                raise UserError(f"{t.name}: no labelled training examples to score; check --data")
            scores[t.name][c.label] = logme(f, y, one_hot=one_hot)
        del encoder
    return scores


def embedding_scores(candidates: list[Candidate], targets: list, *, data: str, max_examples: int | None,
                     model: str | None = None, batch_size: int = 32, log: Callable[[str], None] = print,
                     used: dict[str, int] | None = None) -> dict[str, dict[str, float]]:
    """target -> candidate label -> cosine similarity of the task embeddings (plain backbone)."""
    from adapterstilts.model.assemble import to_inference_device
    from adapterstilts.model.backbone import BackboneOptions, load_encoder, load_tokenizer
    from adapterstilts.tasks import get_task

    name, revision = _base(candidates, model)
    tokenizer = load_tokenizer(name, revision)
    options = BackboneOptions(model=name, revision=revision)
    encoder = to_inference_device(load_encoder(options, trainable=False), options)
    cache: dict[str, np.ndarray] = {}

    def embed(task_name: str) -> np.ndarray:
        if task_name not in cache:
            task = get_task(task_name)
            _, feats = _features(task, tokenizer, data, max_examples, used)
            cache[task_name] = text_embedding(encoder, feats, tokenizer.pad_token_id, batch_size)
        return cache[task_name]

    scores: dict[str, dict[str, float]] = {}
    for t in targets:
        target = embed(t.name)
        scores[t.name] = {c.label: cosine(target, np.mean([embed(n) for n in c.tasks], axis=0)) for c in candidates}
    return scores


SCORERS = {"logme": logme_scores, "embedding": embedding_scores}


def select_intermediates(target: str, refs: Sequence[str], method: str = "logme", *, data: str = "hub",
                         max_examples: int | None = DEFAULT_MAX_EXAMPLES, model: str | None = None,
                         batch_size: int = 32, allow_pickle: bool | None = None,
                         log: Callable[[str], None] = print) -> Ranking:
    """Rank intermediate runs for ``target`` with ``method`` (see the module docstring)."""
    import time

    start = time.perf_counter()
    task, candidates = prepare(target, refs, method, data=data, model=model, allow_pickle=allow_pickle, log=log)
    used: dict[str, int] = {}
    scores = SCORERS[method](candidates, [task], data=data, max_examples=max_examples, model=model,
                             batch_size=batch_size, log=log, used=used)[task.name]
    return Ranking(task.name, method, rank(scores), time.perf_counter() - start, max_examples, used)


def format_ranking(ranking: Ranking) -> str:
    what = "LogME (per-example log evidence)" if ranking.method == "logme" else "cosine similarity of task embeddings"
    width = max(len(name) for name, _ in ranking.scores)
    lines = [f"{ranking.target}: intermediates ranked by {what}"]
    lines += [f"{i + 1:>3}. {name:<{width}}  {score:.6f}" for i, (name, score) in enumerate(ranking.scores)]
    lines.append(f"took {ranking.seconds:.1f} s ({examples_text(ranking.examples, ranking.used)})")
    return "\n".join(lines)


def examples_text(limit: int | None, used: dict[str, int]) -> str:
    """How many training examples were read: the actual count (a sample may hold fewer than the limit)."""
    counts = set(used.values())
    if not used:
        return f"first {limit} training examples per task" if limit else "all training examples"
    if len(counts) == 1:
        n = counts.pop()
        if limit and n >= limit:
            return f"first {limit} training examples per task"
        return f"{n} training examples per task" + (f" (all there are; --max-examples {limit})" if limit else " (all)")
    each = ", ".join(f"{task} {n}" for task, n in sorted(used.items()))
    return f"training examples per task: {each}" + (f" (at most {limit})" if limit else "")


# ------------------------------------------------------------------------------------------ evaluation on a grid
KS = (1, 3)


def grid_inputs(grid) -> tuple[dict, dict[str, dict[str, float]], dict]:
    """(the grid's recipe, target -> intermediate -> trained task score (mean over seeds), intermediate
    task -> its run) of a finished grid's plain single-task rows."""
    import json
    import re
    from pathlib import Path

    from adapterstilts.analysis.tables import group_scores, language_mean
    from adapterstilts.experiments.plan import RECIPE_FILE
    from adapterstilts.experiments.store import STORE_FILE, ResultsStore, expand_axes, find_stores
    from adapterstilts.metrics.aggregate import task_score
    from adapterstilts.runs import MANIFEST, Run
    from adapterstilts.suites import get_suite
    from adapterstilts.tasks import TASKS

    root = Path(grid)
    if not root.is_dir():
        raise UserError(f"--evaluate {grid}: no such folder; pass a grid's output folder (e.g. runs/tiny)")
    recipe = {}
    if (root / RECIPE_FILE).is_file():
        recipe = json.loads((root / RECIPE_FILE).read_text(encoding="utf-8"))
    stores = [Path(recipe["results"])] if recipe.get("results") and Path(recipe["results"]).is_file() else []
    stores = stores or ([root / STORE_FILE] if (root / STORE_FILE).is_file() else find_stores(root))
    rows = [expand_axes(r) for s in stores for r in ResultsStore(s).rows(recipe.get("name"))]
    single = [r for r in rows if r["intermediate"] in TASKS and TASKS.get(r["intermediate"]).kind == "intermediate"
              and r.get("size") is None and r.get("shots") is None]
    qa = get_suite("xtreme").official_qa
    per_seed: dict[str, dict[str, list[float]]] = {}
    for (_, inter, target, _), per_language in group_scores(single).items():
        score = task_score(target, language_mean(per_language), qa)
        per_seed.setdefault(target, {}).setdefault(inter, []).append(score)
    trained = {t: {i: sum(v) / len(v) for i, v in by.items()} for t, by in per_seed.items()}
    folder = Path(recipe.get("intermediate_output") or root / "intermediate")
    runs: dict[str, object] = {}
    for path in sorted(folder.glob(f"*/{MANIFEST}")) if folder.is_dir() else []:
        run = Run.open(path.parent)
        match = re.fullmatch(rf"{re.escape(run.task)}-[A-Za-z0-9_]+-seed(\d+)", path.parent.name)
        if match and run.task in TASKS and not run.manifest.get("tasks"):  # one plain run per task (lowest seed)
            runs.setdefault(run.task, run)
    if not trained or len(runs) < 2:
        raise UserError(f"{root} has {len(runs)} intermediate runs under {folder} and results for "
                        f"{len(trained)} targets; --evaluate needs a finished grid with at least two intermediates")
    return recipe, trained, runs


def evaluate_selection(grid, methods: Sequence[str] = METHODS, *, data: str | None = None,
                       max_examples: int | None = DEFAULT_MAX_EXAMPLES, model: str | None = None,
                       batch_size: int = 32, log: Callable[[str], None] = print) -> dict:
    """Regret@1 and @3 of each method against a finished grid's trained results, per target and averaged."""
    import time

    for m in methods:
        check_method(m)
    recipe, trained, runs = grid_inputs(grid)
    data = data or recipe.get("data") or "hub"
    check_data(data)
    from adapterstilts.suites import get_suite

    result: dict = {"grid": str(grid), "qa_convention": get_suite("xtreme").official_qa, "skipped": {}, "methods": {},
                    "regret": "Poth et al. 2021: Regret@k = 100 * (O - M_k) / O, O = best trained score of any "
                              "intermediate on the target, M_k = best trained score among the top k picks"}
    for method in methods:
        start = time.perf_counter()
        targets, candidates = [], [Candidate(name, run, [name]) for name, run in sorted(runs.items())]
        for target in sorted(trained):
            ranked = [n for n in trained[target] if n in runs]
            try:
                try:
                    task = training_task(target)
                except UserError:
                    raise UserError("no training data to select with (evaluated directly from the encoder)") from None
                if method == "logme":
                    check_logme_format(task)
                if len(ranked) < 2:
                    raise UserError(f"only {len(ranked)} intermediate with both a run and a trained result")
            except UserError as exc:
                result["skipped"].setdefault(method, {})[target] = str(exc)
                continue
            targets.append(task)
        per_target = {}
        if targets:
            scores = SCORERS[method](candidates, targets, data=data, max_examples=max_examples, model=model,
                                     batch_size=batch_size, log=log)
            for t in targets:
                got = trained[t.name]
                order = [n for n, _ in rank({k: v for k, v in scores[t.name].items() if k in got})]
                per_target[t.name] = {
                    **{f"regret@{k}": regret_at_k(order, got, k) for k in KS},
                    "ranking": order, "scores": scores[t.name], "trained": got, "best": max(got, key=got.get),
                    "candidates": len(order)}
        average = {f"regret@{k}": (sum(v[f"regret@{k}"] for v in per_target.values()) / len(per_target)
                                   if per_target else None) for k in KS}
        result["methods"][method] = {"targets": per_target, "average": average,
                                     "seconds": round(time.perf_counter() - start, 3)}
    return result


def format_evaluation(result: dict) -> str:
    lines = [f"regret@k of the selection methods on {result['grid']} (lower is better; 0 = the best trained "
             "intermediate is among the top k; 'of': how many intermediates were ranked)"]
    for method, about in result["methods"].items():
        lines.append(f"\n{method} ({about['seconds']:.1f} s)")
        lines.append(f"  {'target':<10} {'regret@1':>9} {'regret@3':>9}  of  best trained / picked first")
        for target, v in about["targets"].items():
            lines.append(f"  {target:<10} {v['regret@1']:>8.2f}% {v['regret@3']:>8.2f}%  {v['candidates']:>2}  "
                         f"{v['best']} / {v['ranking'][0]}")
        avg = about["average"]
        if avg["regret@1"] is not None:
            lines.append(f"  {'average':<10} {avg['regret@1']:>8.2f}% {avg['regret@3']:>8.2f}%")
        for target, why in result["skipped"].get(method, {}).items():
            lines.append(f"  {target:<10} skipped: {why}")
    lines.append(f"\n{result['regret']}; task scores by the XTREME rules (QA convention {result['qa_convention']}), "
                 "mean over seeds")
    return "\n".join(lines)
