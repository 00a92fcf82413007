"""Training one run (an intermediate task, or a target task on top of intermediates) with the
transformers Trainer, into a run folder that appears only when it is complete: everything is
written to ``.<name>.partial`` beside the output and renamed at the end."""
from __future__ import annotations

import json
import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from adapterstilts import __version__
from adapterstilts.config import TrainConfig
from adapterstilts.errors import NothingToDo, UserError
from adapterstilts.data.features import build_features
from adapterstilts.model.assemble import build_for_training, build_from_run, record_intermediates, save_head
from adapterstilts.methods import trainable_parameters
from adapterstilts.model.backbone import check_quantization_possible, load_tokenizer
from adapterstilts.tasks.base import SELECTION
from adapterstilts.training.trainer import (ModuleTrainer, _hyperparameters, _make_trainer, _resumable_checkpoint,  # noqa: F401
                                            _use_compact_logs, _write_log, format_log)
from adapterstilts.tasks.derived import derived_from_spec
from adapterstilts.runs import HEAD_FILE, MANIFEST, MODULE_DIR, TRAIN_LOG, Run, folder_size, library_versions, write_json_atomic
from adapterstilts.runs.folder import check_output_place, disk_error, user_modes


def resolve_intermediates(refs: list[str], *, model: str | None = None, allow_pickle: bool = False,
                          log=print) -> list[Run]:
    from adapterstilts.runs.refs import resolve_run

    return [resolve_run(ref, allow_pickle=allow_pickle, model=model, log=log) for ref in refs]


def _note_kbit_memory(config: TrainConfig, log) -> None:
    """k-bit loading shrinks the weights; at XLM-R Large shapes the activations are what decide whether
    training fits a consumer GPU (docs/benchmarks.md)."""
    if not config.backbone().quantized:
        return
    from adapterstilts.model.backbone import quantization_device

    if quantization_device() == "cpu":
        log("note: no CUDA GPU, so the backbone is quantised on the CPU (bitsandbytes' CPU backend): it works, "
            "slowly; meant for tests and small models")
    elif not config.gradient_checkpointing:
        log("note: with a k-bit backbone, activations dominate training memory; on an 8 GB GPU add "
            "--gradient-checkpointing, or lower --batch-size and raise --grad-accum")


def partial_dir(output: Path) -> Path:
    return output.parent / f".{output.name}.partial"


def _same_finished_run(output: Path, config: TrainConfig) -> bool:
    """``output`` holds a finished run trained with ``config``'s identity (config/identity.py) on the same
    intermediate modules (the identity leaves out which folder they are read from)."""
    from adapterstilts.config.identity import identity
    from adapterstilts.runs.folder import MANIFEST

    try:
        saved = json.loads((output / "config.json").read_text(encoding="utf-8"))
        manifest = json.loads((output / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(saved, dict) or not isinstance(manifest, dict) or manifest.get("task") != config.task:
        return False  # e.g. a multi-task run (task "multitask"), whose config names its first task

    def folders(paths) -> list[str]:
        return [str(Path(p).expanduser().resolve()) for p in paths or []]

    return (identity(saved) == identity(config)
            and folders(saved.get("intermediates")) == folders(config.intermediates))


def prepare(config: TrainConfig, log=print, *, same_run_is_done: bool = False
            ) -> tuple[TrainConfig, Path, list[Run], Run | None]:
    """What every training run checks before any model or data work: the settings, quantisation, the
    module references (intermediates, init_from) and the output folder. Returns the config with a
    local model recorded by absolute path (runs move, cwd changes)."""
    config.validate()
    check_quantization_possible(config.backbone())  # before any download or data work
    if Path(config.model).expanduser().is_dir():
        config = replace(config, model=str(Path(config.model).expanduser().resolve()))
    intermediate_runs = resolve_intermediates(config.intermediates, model=config.model,
                                              allow_pickle=config.allow_pickle, log=log)
    init_run = None
    if config.init_from:
        init_run = resolve_intermediates([config.init_from], model=config.model, allow_pickle=config.allow_pickle,
                                         log=log)[0]
    output = Path(config.output)
    check_output_place(output)  # a file on the way, or a read-only folder: named now, not after training
    if output.exists() and any(output.iterdir()) and not config.overwrite:
        if same_run_is_done and _same_finished_run(output, config):
            raise NothingToDo(f"{output} already holds this finished run (same settings); nothing to do — pass "
                              "--overwrite to train it again")
        raise UserError(f"output folder {output} is not empty; choose a new --output or pass --overwrite")
    if config.data not in ("hub", "sample") and config.train_data is None:  # a local file: schema, labels
        from adapterstilts.data.loading import load_examples
        from adapterstilts.tasks import get_task

        task = get_task(config.task)
        load_examples(task, "train", task.train_language, config.data)  # cached by datasets for the real load
    if config.language_adapter:  # a missing or wrong language adapter: before any model loads
        from adapterstilts.compose import language

        language.resolve(config.language_adapter, model=config.model, allow_pickle=config.allow_pickle, log=log)
    return config, output, intermediate_runs, init_run


RESUME_EXTRA = "resume_settings.json"


def open_work(output: Path, config: TrainConfig, log=print, *, extra: dict | None = None,
              name: str | None = None) -> tuple[Path, Path | None]:
    """The ``.partial`` folder a run is written to, and the checkpoint to resume from (an interrupted
    run with the same identity and --save-steps), or None: then the folder starts empty. A folder left
    by a crash is either reused (resumed from its last checkpoint) or removed, and one line says which.
    ``extra``: settings outside TrainConfig that must match too (multi-task: the tasks and the sampler)."""
    work = partial_dir(output)
    name = name or config.task
    resume = _resumable_checkpoint(work, config)
    if resume is not None and _saved_extra(work) != extra:
        resume = None
    if resume is not None:
        log(f"{name}: resuming the interrupted run in {work} from its {resume.name} "
            f"(step {resume.name.rsplit('-', 1)[-1]})")
    elif work.exists():
        log(f"{name}: removing {work}, left by an interrupted run: {_not_resumable(work, config, extra)}; "
            "training starts from step 0")
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    write_json_atomic(work / "config.json", config.to_dict())
    if extra is not None:
        write_json_atomic(work / RESUME_EXTRA, extra)
    return work, resume


def _saved_extra(work: Path):
    try:
        return json.loads((work / RESUME_EXTRA).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _not_resumable(work: Path, config: TrainConfig, extra: dict | None = None) -> str:
    """Why a leftover ``.partial`` folder cannot be resumed (``_resumable_checkpoint`` found nothing)."""
    if config.save_steps <= 0:
        return "this run saves no checkpoints (--save-steps 0)"
    if not (work / "config.json").is_file():
        return "it has no config.json"
    if not any((c / "trainer_state.json").is_file() for c in (work / "checkpoints").glob("checkpoint-*")):
        return "it stopped before its first complete checkpoint"
    if _resumable_checkpoint(work, config) is not None and _saved_extra(work) != extra:
        return "it was started with other tasks or sampling settings"
    return "it was started with other settings"


def check_trainable(model, config: TrainConfig, name: str, log) -> tuple[int, int]:
    trainable, total = trainable_parameters(model)
    if trainable == 0:
        raise UserError("nothing to train: the assembled model has no trainable parameter")  # guards a silent no-op
    log(f"{name}: {config.method} / compose {config.compose}: trainable parameters {trainable:,} of "
        f"{total:,} ({100 * trainable / total:.2f}%)")
    _note_kbit_memory(config, log)
    return trainable, total


def save_module(work: Path, assembled, tokenizer, config: TrainConfig, compose: str | None = None) -> Path:
    """The run's module in its library's own format (a full fine-tune: the encoder and its tokenizer)."""
    from adapterstilts.compose import get_composition

    module_dir = work / MODULE_DIR
    if module_dir.exists():
        shutil.rmtree(module_dir)
    get_composition(compose or config.compose).save(assembled.model.encoder, assembled.method, assembled.module_name,
                                                    module_dir)
    if config.method == "full":
        tokenizer.save_pretrained(str(module_dir))
    return module_dir


def manifest_of(config: TrainConfig, assembled, *, kind: str, task: str, fmt: str, result, started: float,
                features, module_dir: Path, trainable: int, total: int, max_length: int, stride: int,
                head: dict, intermediates: list[dict], **extra) -> dict:
    """The manifest every run writes (single-task and multi-task alike); ``extra`` adds what one kind has."""
    from adapterstilts.runs.manifest import MANIFEST_VERSION

    return {
        "manifest_version": MANIFEST_VERSION,
        "adapterstilts_version": __version__,
        "kind": kind,
        "task": task,
        "format": fmt,
        **{k: v for k, v in extra.items() if k in ("tasks", "sampling")},
        "method": config.method,
        "compose": config.compose,
        "module_name": assembled.module_name,
        "module_library": assembled.method.library,
        "base_model": {"name": config.model, "revision": config.revision, "config_hash": assembled.config_hash,
                       "architecture": assembled.architecture, "weights_fingerprint": assembled.weights_fingerprint},
        "intermediates": intermediates,
        "merge_weights": None,
        **assembled.composition_fields,
        "seed": config.seed,
        "hyperparameters": _hyperparameters(config, assembled.method.default_lr, max_length, stride),
        "method_settings": config.method_settings(),
        "head": head,
        "trainable_parameters": trainable,
        "total_parameters": total,
        "module_size_bytes": folder_size(module_dir),
        "train": {"steps": result.global_step, "training_loss": result.training_loss,
                  "seconds": round(time.time() - started, 1), "features": features, "data": config.data},
        "versions": library_versions(),
        **{k: v for k, v in extra.items() if k not in ("tasks", "sampling")},
    }


def train(config: TrainConfig, *, log=print, keep_model: bool = False) -> Run:
    """Train one run; returns the finished run folder (with the trained model when keep_model)."""
    from adapterstilts.progress import bar_safe, console

    console()  # library warnings once, around the bars
    with disk_errors(config):
        return _train(config, log=bar_safe(log), keep_model=keep_model)


@contextmanager
def disk_errors(config: TrainConfig):
    """A full disk or a read-only file system while a run writes: one line naming the path and the fix.
    Nothing half-written is left where the run belongs: it appears only when complete (finalize_run)."""
    try:
        yield
    except OSError as exc:
        problem = disk_error(exc, partial_dir(Path(config.output)), resume="re-run the same command (it resumes "
                             "from the last checkpoint, if one was saved)")
        if problem is None or problem is exc:
            raise
        raise problem from exc


def _train(config: TrainConfig, *, log=print, keep_model: bool = False) -> Run:
    config, output, intermediate_runs, init_run = prepare(config, log, same_run_is_done=True)
    tokenizer = load_tokenizer(config.model, config.revision)
    # a run trained further keeps the composition of the run it continues
    compose = init_run.compose if init_run is not None else config.compose
    if init_run is not None:
        assembled = build_from_run(config, init_run, log=log)
    else:
        assembled = build_for_training(config, intermediate_runs, log=log)
    task, fmt, model = assembled.task, assembled.fmt, assembled.model
    trainable, total = check_trainable(model, replace(config, compose=compose), task.name, log)

    max_length = config.max_length or task.max_length
    stride = config.doc_stride or min(task.doc_stride, max_length // 3)  # 384 -> 128; shorter windows scale
    derived = derived_from_spec(config.train_data) if config.train_data is not None else None
    train_examples, features = build_features(
        task, fmt, tokenizer, split="train", language=task.train_language, data=config.data, max_length=max_length,
        stride=stride, train=True, limit=config.max_train_examples,
        examples=derived.examples(config.data) if derived else None, derived=derived.fingerprint() if derived else None)
    if derived is not None:
        log(f"{task.name}: training data {derived.describe()}: {len(train_examples):,} examples")
    log(f"{task.name}: {len(features):,} training features (max length {max_length})")

    work, resume = open_work(output, config, log)
    trainer = _make_trainer(config, model, fmt, tokenizer, features, work)
    selection = None
    if config.eval_steps > 0:
        from adapterstilts.training.selection import DevSelection

        dev_examples, dev_features = build_features(task, fmt, tokenizer, split=SELECTION,
                                                    language=task.train_language, data=config.data,
                                                    max_length=max_length, stride=stride, train=False)
        selection = DevSelection(model=model, task=task, fmt=fmt, tokenizer=tokenizer, examples=dev_examples,
                                 features=dev_features, every=config.eval_steps, patience=config.patience, log=log)
        if resume is not None:
            selection.resume_from(resume)  # keep the best state and history from before the interruption
        trainer.add_callback(selection)
    started = time.time()
    result = run_training(trainer, resume, task.name, log, selection)
    if not trainer.is_world_process_zero():  # several GPUs (accelerate launch): only the main process writes
        return None  # type: ignore[return-value]
    _write_log(trainer.state.log_history, work / TRAIN_LOG)

    module_dir = save_module(work, assembled, tokenizer, config, compose)
    save_head(model.head, work / HEAD_FILE)
    extra: dict = {}
    if assembled.language_folder is not None:  # the run's own copy: it is self-contained
        from adapterstilts.compose import language

        language.save_copy(assembled.language_folder, work)
        extra["language_adapter"] = {"source": config.language_adapter or (init_run.manifest.get(
            "language_adapter") or {}).get("source"), "folder": language.FOLDER}
    if init_run is not None:  # the continued run's intermediates come along as they were
        entries = _carry_intermediates(init_run, work)
    else:
        from adapterstilts.compose import get_composition

        entries = record_intermediates(intermediate_runs, assembled.intermediate_names, work,
                                       copy=get_composition(compose).copies_intermediates)
    if derived is not None:  # the spec reproduces the rows (tasks/derived.py); "examples": the count used
        extra["train_data"] = {**derived.to_spec(), **derived.record(), "examples": len(train_examples)}
    if init_run is not None:
        extra["init_from"] = {"source": init_run.manifest.get("source", str(init_run.path)), "task": init_run.task,
                              "compose": init_run.compose}
    if selection is not None:
        extra["selection"] = selection.summary()
    manifest = manifest_of(replace(config, compose=compose), assembled, kind=task.kind, task=task.name, fmt=task.format, result=result,
                           started=started, features=len(features), module_dir=module_dir, trainable=trainable,
                           total=total, max_length=max_length, stride=stride,
                           head={"format": fmt.name, "labels": list(task.labels), "file": HEAD_FILE},
                           intermediates=entries, **extra)
    run = finalize_run(work, output, manifest)
    log(f"{task.name}: saved run to {output} (module {manifest['module_size_bytes'] / 1e6:.2f} MB)")
    if keep_model:
        model.eval()
        run.model = model
    return run


def run_training(trainer, resume: Path | None, name: str, log, selection=None):
    """``trainer.train``, resumed from ``resume`` when given. A checkpoint of the last step (the process
    died while saving the run) is finished from as it is: no step runs again."""
    from adapterstilts.training.trainer import completed_checkpoint, finish_from_checkpoint

    if resume is not None and completed_checkpoint(resume):
        log(f"{name}: {resume.name} is the last step: saving the run from it, without training again")
        result = finish_from_checkpoint(trainer, resume)
        if selection is not None:  # what the end of training does: the last evaluation, the best state back
            selection.on_train_end(trainer.args, trainer.state, trainer.control)
    else:
        result = trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    if resume is not None and result.training_loss is None:
        log(f"{name}: {resume.name} did not record the loss of the steps before the interruption (an older "
            "adapterstilts wrote it): the manifest's training_loss is null")
    return result


def _carry_intermediates(run: Run, work: Path) -> list[dict]:
    """The intermediates of a run trained further: its copies in ``intermediates/`` and its entries."""
    from adapterstilts.runs import INTERMEDIATES_DIR

    source = run.path / INTERMEDIATES_DIR
    if source.is_dir():
        shutil.copytree(source, work / INTERMEDIATES_DIR)
    return list(run.manifest.get("intermediates") or [])


def finalize_run(work: Path, output: Path, manifest: dict) -> Run:
    """Write the manifest last, drop checkpoints, and move the finished folder into place."""
    write_json_atomic(work / MANIFEST, manifest)
    shutil.rmtree(work / "checkpoints", ignore_errors=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    old = output.parent / f".{output.name}.old"
    if output.exists():  # move the old run aside first: a crash never leaves a half-deleted run in place
        shutil.rmtree(old, ignore_errors=True)
        os.replace(output, old)
    user_modes(work)
    os.replace(work, output)
    shutil.rmtree(old, ignore_errors=True)
    return Run.open(output)


