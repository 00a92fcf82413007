"""Loading a task's split in one language from one of three places, through one code path:

- ``sample``: the bundled sample (adapterstilts/samples), in the exact schema of the Hub dataset;
- ``hub``: ``datasets.load_dataset(id, config, split=...)``;
- a directory: the same files as the samples' layout, ``<dataset with / as __>/<config>/<split>.jsonl``
  (``.json``, ``.parquet`` and ``.csv`` are read too). ``adapterstilts export-data`` writes it.

Only the raw source differs; the task's ``canonicalize`` and everything after it are shared.
"""
from __future__ import annotations

import os
from pathlib import Path

from adapterstilts.errors import UserError
from adapterstilts.network import hub_reachable, offline
from adapterstilts.tasks.base import SELECTION, Source, Task

SAMPLES_DIR = Path(__file__).resolve().parents[1] / "samples"
LOCAL_SUFFIXES = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".csv": "csv"}


def load_examples(task: Task, split: str, language: str, data: str = "sample"):
    """Canonical examples of ``task`` for ``split`` in ``language`` (a ``datasets.Dataset``)."""
    import datasets

    task.check_split(split)
    sources = task.selection_sources() if split == SELECTION else task.sources(split, language)
    if not sources:
        raise UserError(f"task {task.name!r} has no {split!r} split in language {language!r}")
    parts = []
    for src in sources:
        raw = load_source(task, src, data)
        where = _where(data, src)
        missing = [column for column, _ in (*src.keep, *src.drop) if column not in raw.column_names]
        if missing:
            raise UserError(f"{where} has no column {missing[0]!r} (it has: {', '.join(raw.column_names)}); "
                            f"give the file {src.describe()}'s columns")
        raw = _apply_filters(raw, src)
        if len(raw) == 0:
            hint = "the bundled sample" if data == "sample" else f"--data {data}"
            raise UserError(f"{hint} has no rows of {src.describe()} for language {language!r}; "
                            f"evaluate other languages (--languages) or provide the data (--data DIR)")
        try:
            parts.append(task.canonicalize(raw, src))
        except KeyError as exc:
            raise UserError(f"{where} has no column {exc.args[0]!r} (it has: {', '.join(raw.column_names)}); "
                            f"give the file {src.describe()}'s columns") from None
        except (TypeError, ValueError) as exc:
            raise UserError(f"{where}: a row does not fit {task.name}'s schema ({str(exc).splitlines()[0][:160]}); "
                            "check the values' types against the dataset on the Hub") from None
    examples = parts[0] if len(parts) == 1 else datasets.concatenate_datasets(parts)
    check_labels(task, examples, _where(data, sources[0]))
    return examples


def _where(data: str, source: Source) -> str:
    if data in ("hub", "sample"):
        return f"{'the bundled sample' if data == 'sample' else 'the Hub'}'s {source.describe()}"
    path = local_file(Path(data), source)
    return str(path) if path is not None else f"--data {data}"


def check_labels(task: Task, examples, where: str) -> None:
    """Labels inside the task's label set, before any model sees them (a -1 or 7 in a 3-way task would
    otherwise crash training halfway, or be scored silently)."""
    n = task.num_labels
    if not n:
        return
    columns = examples.column_names
    if "label" in columns and task.format == "classification":
        for row, label in enumerate(examples["label"]):
            if not isinstance(label, int) or isinstance(label, bool) or not 0 <= label < n:
                raise UserError(f"{where}: row {row + 1}: label {label!r} is not one of 0..{n - 1} "
                                f"({', '.join(task.labels)}); fix the file")
    if "tags" in columns and task.format == "tagging":
        for row, tags in enumerate(examples["tags"]):
            bad = [t for t in tags if not isinstance(t, int) or not 0 <= t < n]
            if bad:
                raise UserError(f"{where}: row {row + 1}: tag {bad[0]!r} is not one of 0..{n - 1}; fix the file")


def load_source(task: Task, source: Source, data: str):
    if data == "sample":
        return _load_local(SAMPLES_DIR, source, hint="the bundled sample")
    if data == "hub":
        if task.requires_local_data is not None:
            raise UserError(task.requires_local_data.message)
        return _load_hub(source)
    root = Path(data)
    if not root.is_dir():
        raise UserError(f"--data {data!r} is neither 'sample', 'hub' nor an existing directory")
    if task.requires_local_data is not None and local_file(root, source) is None:  # say where to get it
        raise UserError(f"directory {data} has no {root / source.local_dir}/{source.split}.json(l): "
                        f"{task.requires_local_data.message}")
    return _load_local(root, source, hint=f"directory {data}")


def available_languages(task: Task, split: str, data: str, languages: list[str]) -> list[str]:
    """The languages whose ``split`` exists in the bundled sample or local directory ``data``
    (all of them for the Hub)."""
    if data == "hub":
        return list(languages)
    root = SAMPLES_DIR if data == "sample" else Path(data)
    found = []
    for lang in languages:
        try:
            sources = task.sources(split, lang)
        except UserError:
            continue
        if sources and all(local_file(root, src) is not None for src in sources):
            found.append(lang)
    return found


def local_file(root: Path, source: Source) -> Path | None:
    folder = root / source.local_dir
    for suffix in LOCAL_SUFFIXES:
        path = folder / f"{source.split}{suffix}"
        if path.is_file():
            return path
    return None


def _load_local(root: Path, source: Source, hint: str):
    import datasets

    path = local_file(root, source)
    if path is None:
        raise UserError(
            f"{hint} has no {source.describe()}: expected {root / source.local_dir}/{source.split}.jsonl "
            f"(write it with `adapterstilts export-data` on a machine with internet access)"
        )
    builder = LOCAL_SUFFIXES[path.suffix]
    if path.suffix == ".jsonl":
        _check_jsonl(path)
    try:
        return datasets.load_dataset(builder, data_files={"data": str(path)}, split="data")
    except Exception as exc:  # the json / csv / parquet readers raise many types: one line naming the file
        first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise UserError(f"{path} cannot be read as {builder} ({first}); fix or re-export the file") from None


def _check_jsonl(path: Path) -> None:
    """Each line one JSON object, in UTF-8, and at least one: said with the file and line."""
    import json

    rows = 0
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError:
                raise UserError(f"{path}:{number}: not UTF-8 text; convert the file to UTF-8") from None
            except ValueError as exc:
                raise UserError(f"{path}:{number}: not a JSON line ({exc.msg}); one JSON object per line") from None
            if not isinstance(row, dict):
                raise UserError(f"{path}:{number}: a JSON {type(row).__name__}, not an object; one JSON object per line")
            rows += 1
    if rows == 0:
        raise UserError(f"{path} is empty; give it the split's rows (or remove it)")


def _load_hub(source: Source):
    import datasets

    layout = (f"or put the data in a directory as {source.local_dir}/{source.split}.jsonl and pass --data DIR "
              "(`adapterstilts export-data` run on a machine with internet writes it)")
    if offline():
        fix = f"offline mode is on (HF_HUB_OFFLINE / HF_DATASETS_OFFLINE): unset it to download, {layout}"
    else:
        fix = f"connect to the internet, {layout}"
    if not offline() and not hub_reachable():
        raise UserError(f"cannot reach the Hugging Face Hub to load {source.describe()}; {fix}")
    try:
        return datasets.load_dataset(source.dataset, source.config, split=source.split)
    except Exception as exc:  # datasets raises many types for "not available": name it in one line
        if "scripts are no longer supported" in str(exc):
            return _load_parquet_conversion(source, exc, fix)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"could not load {source.describe()} ({type(exc).__name__}: {first[:200]}); {fix}") from exc


def _load_parquet_conversion(source: Source, original: Exception, fix: str):
    """A dataset still published as a loading script (which datasets >= 4 no longer runs): read the
    Hub's automatic Parquet conversion of it (branch refs/convert/parquet, one folder per config)."""
    import datasets

    try:
        return datasets.load_dataset(source.dataset, data_dir=source.config or "default",
                                     revision="refs/convert/parquet", split=source.split)
    except Exception as exc:
        raise UserError(f"{source.dataset} is published as a loading script, which datasets 5 does not run, and its "
                        f"Parquet conversion could not be read ({type(exc).__name__}); {fix}") from original


def _apply_filters(dataset, source: Source):
    for column, value in source.keep:
        dataset = dataset.filter(lambda v, value=value: v == value, input_columns=column)
    for column, value in source.drop:
        dataset = dataset.filter(lambda v, value=value: v != value, input_columns=column)
    return dataset


def export_task_data(task: Task, languages: list[str], out_dir: Path, data: str = "hub") -> list[Path]:
    """Write every source of ``task`` (all splits, the given languages) to ``out_dir`` in the local
    layout, so ``--data out_dir`` works offline later. Files are written atomically."""
    written: list[Path] = []
    seen: set[tuple] = set()
    for split in ("train", "validation", "test"):
        for language in languages:
            try:
                sources = task.sources(split, language)
            except UserError:
                continue
            for src in sources:
                key = (src.dataset, src.config, src.split)  # language filters share one file
                if key in seen:
                    continue
                seen.add(key)
                raw = load_source(task, Source(src.dataset, src.config, src.split), data)
                target = out_dir / src.local_dir / f"{src.split}.jsonl"
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_suffix(".jsonl.tmp")
                raw.to_json(str(tmp), lines=True, force_ascii=False)
                os.replace(tmp, target)
                written.append(target)
    return written
