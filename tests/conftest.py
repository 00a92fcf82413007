"""Shared fixtures. Every test runs offline: a missed download must fail at once, not after a minute."""
import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("ADAPTERSTILTS_NO_PROGRESS", "1")
os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")

import json  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

# Feature cache, datasets cache and HF cache live in a per-run temp folder (set before any library
# reads them at import time).
_CACHE_ROOT = Path(tempfile.mkdtemp(prefix="adapterstilts-test-"))
os.environ["ADAPTERSTILTS_CACHE"] = str(_CACHE_ROOT / "adapterstilts")
os.environ["HF_DATASETS_CACHE"] = str(_CACHE_ROOT / "datasets")
os.environ["HF_HOME"] = str(_CACHE_ROOT / "hf")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A tiny random XLM-R with an offline-trained tokenizer (built once per session)."""
    from adapterstilts.tiny_model import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("model") / "tiny-xlmr")


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


@pytest.fixture(scope="session")
def learnable_mnli_dir(tmp_path_factory):
    """A local --data DIR in MNLI's schema where the first hypothesis word decides the label."""
    root = tmp_path_factory.mktemp("learnable")
    folder = root / "nyu-mll__glue" / "mnli"
    folder.mkdir(parents=True)
    cue = {0: "yes", 1: "maybe", 2: "never"}
    subjects = ["the cat", "a man", "two kids", "the band", "my sister", "the old bus", "a red bird", "our team"]
    verbs = ["sleeps", "runs home", "plays music", "reads", "sings loudly", "waits outside"]
    rows = [{"premise": f"{s} {v} today.", "hypothesis": f"{cue[i % 3]} {s} {v}.", "label": i % 3, "idx": i}
            for i, (s, v) in enumerate((s, v) for s in subjects for v in verbs)]
    (folder / "train.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return root


def logged_losses(run_dir: Path) -> list[float]:
    """The training losses a run logged, in order."""
    return [json.loads(line)["loss"] for line in (run_dir / "train_log.jsonl").read_text().splitlines()
            if '"loss"' in line]


def small_train_config(tiny_model_dir, out, task="mnli", **kw):
    """A few-step training run on the tiny model and bundled sample data (overrides in ``kw``)."""
    from adapterstilts.config import TrainConfig

    base = dict(task=task, output=str(out), model=str(tiny_model_dir), data="sample", max_steps=3, batch_size=4,
                lr=1e-3, seed=0, progress=False, logging_steps=1)
    base.update(kw)
    return TrainConfig(**base)


def quiet(_msg):
    """A log function that prints nothing."""


@pytest.fixture(scope="session")
def sample_run(tiny_model_dir, tmp_path_factory):
    """``sample_run(task) -> (run, result)``: a 2-step LoRA run of ``task`` on its bundled sample, evaluated
    on every sampled language; trained once per session, shared by the tests that check it."""
    from adapterstilts.config import TrainConfig
    from adapterstilts.evaluation.zero_shot import evaluate_run
    from adapterstilts.tasks import TASKS
    from adapterstilts.training.pipeline import train

    root = tmp_path_factory.mktemp("sample-runs")
    done: dict = {}

    def get(task: str):
        if task not in done:
            run = train(TrainConfig(task=task, output=str(root / task), model=str(tiny_model_dir), data="sample",
                                    max_steps=2, batch_size=4, max_length=128, progress=False), log=quiet)
            split = "validation" if TASKS.get(task).kind == "intermediate" else None
            done[task] = run, evaluate_run(run.path, languages="all", data="sample", split=split, log=quiet)
        return done[task]

    return get
