"""Shared fixtures. Every test runs offline: a missed download must fail at once, not after a minute."""
import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("ADAPTERSTILTS_NO_PROGRESS", "1")
os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")

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
