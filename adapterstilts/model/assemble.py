"""Putting a model together: backbone + (frozen intermediate modules) + the run's module + head.

Used for training (``build_for_training``) and for evaluating a finished run (``load_run_model``),
so both sides compose modules the same way."""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from adapterstilts.errors import UserError
from adapterstilts.formats.base import Format, format_settings, get_format
from adapterstilts.methods import Method, get_method
from adapterstilts.model.backbone import (BackboneOptions, architecture, config_fingerprint, load_config, load_encoder,
                                          weights_fingerprint)
from adapterstilts.methods.lora import TRAINED as LORA_TRAINED
from adapterstilts.runs import INTERMEDIATES_DIR, MANIFEST, MODULE_DIR, Run, write_json_atomic
from adapterstilts.tasks.base import Task, get_task

from adapterstilts.compose.base import MERGED  # noqa: E402  (re-exported: the merge module name)


class TaskModel(nn.Module):
    """Encoder + head, with the format's forward. What the Trainer trains."""

    # the formats return a mean loss: the Trainer must scale it for gradient accumulation itself
    accepts_loss_kwargs = False
    _keys_to_ignore_on_save = None  # read by the Trainer after loading a checkpoint

    def __init__(self, encoder: nn.Module, head: nn.Module, fmt: Format, quantized: bool = False):
        super().__init__()
        self.encoder = encoder
        self.head = head
        self.fmt = fmt
        if quantized:  # tells the Trainer not to .to() a bitsandbytes model
            self.quantization_method = "bitsandbytes"

    def forward(self, **batch):
        return self.fmt.forward(self.encoder, self.head, batch)


@dataclass
class Assembled:
    model: TaskModel
    task: Task
    fmt: Format
    method: Method
    module_name: str  # the run's own module inside its library (fusion: comma-joined names)
    intermediates: list[Run]
    config_hash: str
    intermediate_names: list[str]  # the frozen intermediates' names inside the encoder
    architecture: dict  # the base model's architecture fields (recorded in the manifest)
    composition_fields: dict  # what the composition records to rebuild the run (merge weights, a chain's order)
    language_folder: Path | None = None  # a language adapter stacked under the modules (MAD-X)
    weights_fingerprint: str | None = None  # of the base model's weights (backbone.weights_fingerprint)


def module_name_for(method: Method, task: str) -> str:
    return LORA_TRAINED if method.name == "lora" else task


def check_base(run: Run, config_hash: str, model: str) -> None:
    if run.config_hash != config_hash:
        raise UserError(f"module {run.path} was trained on base model {run.base_model!r} (config {run.config_hash}), "
                        f"which does not match --model {model!r} (config {config_hash}); use the same base model")


def warn_other_weights(run: Run, fingerprint: str | None, model: str, log) -> None:
    """One line when ``run`` was trained on other weights than ``model`` has now: same architecture (the
    config hash matches), another checkpoint (a fine-tune, another seed, a rebuilt folder). Runs from
    before the fingerprint was recorded, and bases without safetensors, are not compared."""
    recorded = (run.manifest.get("base_model") or {}).get("weights_fingerprint")
    if recorded and fingerprint and recorded != fingerprint and log is not None:
        log(f"warning: {run.path} was trained on other weights than {model!r} has (same architecture; weights "
            f"fingerprint {recorded}, here {fingerprint}): its modules may not fit them; use the base model "
            "checkpoint it was trained on")


def _intermediate_names(runs: list[Run], reserved: str = LORA_TRAINED) -> list[str]:
    """Names of the frozen intermediate modules inside the encoder: their task names, made unique and
    kept apart from the trained module's name (``reserved``) and peft's default."""
    names, seen = [], set()
    for run in runs:
        name = run.task
        base, k = name, 2
        while name in seen or name in (LORA_TRAINED, reserved, MERGED):
            name, k = f"{base}_{k}", k + 1
        seen.add(name)
        names.append(name)
    return names


def _head_for(fmt: Format, task: Task, encoder: nn.Module) -> nn.Module:
    head = fmt.build_head(encoder.config.hidden_size, task)
    device = next(encoder.parameters()).device
    return head.to(device)


def build_for_training(config, intermediate_runs: list[Run], module_name: str | None = None, log=print) -> Assembled:
    """Assemble the model a training run starts from. Seeds before any module is created."""
    from transformers import set_seed

    from adapterstilts.compose import BuildContext, get_composition

    task = get_task(config.task)
    fmt = get_format(task.format, **format_settings(config))
    method = get_method(config.method)
    composition = get_composition(config.compose)
    options: BackboneOptions = config.backbone()
    base_config = load_config(config.model, config.revision)
    config_hash = config_fingerprint(base_config)
    composition.check_runs(intermediate_runs)
    for run in intermediate_runs:
        check_base(run, config_hash, config.model)
        if run.method != method.name:
            raise UserError(f"intermediate {run.path} is a {run.method} module but --method is {method.name}; "
                            f"use --method {run.method} to compose with it")
    set_seed(config.seed)
    name = module_name_for(method, module_name or task.name)
    names = _intermediate_names(intermediate_runs, reserved=name)
    path = composition.backbone_path(method.name, intermediate_runs)
    encoder = load_encoder(options, path=path, trainable=method.name == "full")
    weights = weights_fingerprint(config.model, config.revision)  # after loading: a Hub model is cached now
    for run in intermediate_runs:
        warn_other_weights(run, weights, config.model, log)
    ctx = BuildContext(encoder, method, intermediate_runs, names, name, config.method_settings(),
                       config.merge_weights, task=task.name, merge_method=config.merge_method,
                       merge_density=config.merge_density, seed=config.seed, fusion_gate=config.fusion_gate)
    encoder, name = composition.build(ctx)
    ctx.encoder = encoder
    language_folder = None
    if config.language_adapter:
        from adapterstilts.compose import language

        language_folder = language.resolve(config.language_adapter, model=config.model,
                                           allow_pickle=config.allow_pickle, log=lambda m: None)
        language.attach(encoder, language_folder)
    head = _head_for(fmt, task, encoder)
    model = TaskModel(encoder, head, fmt, quantized=options.quantized)
    return Assembled(model, task, fmt, method, name, intermediate_runs, config_hash, names, architecture(base_config),
                     composition.manifest_fields(ctx), language_folder, weights)


def build_from_run(config, run: Run, log=print) -> Assembled:
    """The model of a finished run, its own module and head trainable, to train further
    (``init_from``: few-shot target-language training after English target training). The run's
    composition, intermediates and merge stay as they were."""
    from safetensors.torch import load_file
    from transformers import set_seed

    from adapterstilts.compose import LoadContext, get_composition

    task, method = get_task(config.task), get_method(config.method)
    fmt = get_format(task.format, **format_settings(config))
    if run.method != method.name:
        raise UserError(f"init_from {run.path} is a {run.method} run but --method is {method.name}; use "
                        f"--method {run.method}")
    head_task, head_file = head_for_task(run, task.name)
    if head_task != task.name:
        raise UserError(f"init_from {run.path} was trained on {head_task!r}, not {task.name!r}; give a run of the "
                        "same task (its head is trained further)")
    options: BackboneOptions = config.backbone()
    base_config = load_config(config.model, config.revision)
    config_hash = config_fingerprint(base_config)
    check_base(run, config_hash, config.model)
    set_seed(config.seed)
    composition = get_composition(run.compose)
    entries = list(run.manifest.get("intermediates") or []) if composition.copies_intermediates else []
    if method.name == "full":
        encoder = load_encoder(options, path=str(run.module_dir), trainable=True)
    else:
        encoder = composition.load(LoadContext(load_encoder(options, trainable=False), method, run, entries))
        language_folder = _attach_language_adapter(encoder, run)
        for param in encoder.parameters():  # loading can leave modules trainable: only the run's own trains
            param.requires_grad = False
        composition.make_trainable(encoder, method, run.module_name)
    head = _head_for(fmt, task, encoder)
    head.load_state_dict(load_file(str(head_file)))
    fields = {k: run.manifest[k] for k in ("merge_weights", "merge_method", "merge_density", "merge_seed", "chain",
                                           "fusion_gate")
              if run.manifest.get(k) is not None}
    model = TaskModel(encoder, head, fmt, quantized=options.quantized)
    weights = weights_fingerprint(config.model, config.revision)
    warn_other_weights(run, weights, config.model, log)
    return Assembled(model, task, fmt, method, run.module_name, [], config_hash, [e["module_name"] for e in entries],
                     architecture(base_config), fields, language_folder if method.name != "full" else None, weights)


def _attach_language_adapter(encoder, run: Run) -> Path | None:
    """A run trained with a language adapter: its copy, under the modules as in training."""
    if not run.manifest.get("language_adapter"):
        return None
    from adapterstilts.compose import language

    folder = run.path / language.FOLDER
    language.attach(encoder, folder)
    return folder


def record_intermediates(runs: list[Run], names: list[str], out: Path, *, copy: bool) -> list[dict]:
    """Manifest entries of the intermediate runs; with ``copy`` (compositions that need them at load
    time: stack, fuse, merge) their modules and manifests are copied into the run folder too."""
    entries = []
    for run, name in zip(runs, names):
        if copy:
            target = out / INTERMEDIATES_DIR / name
            shutil.copytree(run.module_dir, target / MODULE_DIR)
            write_json_atomic(target / MANIFEST, run.manifest)
        entries.append({"module_name": name, "source": run.manifest.get("source", str(run.path)), "task": run.task,
                        "method": run.method, "config_hash": run.config_hash})
    return entries


def to_inference_device(module: nn.Module, options: BackboneOptions | None) -> nn.Module:
    """Evaluation runs on the GPU when there is one (k-bit models are placed at load time)."""
    if torch.cuda.is_available() and not (options and options.quantized):
        module = module.to("cuda")
    return module


def run_backbone_options(run: Run, log=print) -> BackboneOptions:
    """The backbone as the run was trained on it: a k-bit-trained module is evaluated on the same
    k-bit backbone when this machine can quantise, else in full precision (and says so)."""
    hp = run.manifest.get("hyperparameters", {})
    options = BackboneOptions(model=run.base_model, revision=run.manifest["base_model"].get("revision"))
    quantization = hp.get("quantization")
    if quantization in ("8bit", "4bit"):
        from dataclasses import replace

        from adapterstilts.model.backbone import check_quantization_possible

        quantized = replace(options, load_in_8bit=quantization == "8bit", load_in_4bit=quantization == "4bit",
                            bf16=hp.get("precision") == "bf16", fp16=hp.get("precision") == "fp16")
        try:
            check_quantization_possible(quantized)
            return quantized
        except UserError:
            log(f"{run.path} was trained on a {quantization} backbone; this machine cannot quantise, so it is "
                "evaluated on the full-precision backbone")
    return options


def load_run_encoder(run: Run, options: BackboneOptions | None = None, log=print) -> nn.Module:
    """The encoder of a finished run with its modules active (intermediates, module; no head)."""
    if options is None and run.method != "full":
        options = run_backbone_options(run, log)
    return to_inference_device(_assemble_run_encoder(run, options, log), options)


def _assemble_run_encoder(run: Run, options: BackboneOptions | None, log=print) -> nn.Module:
    from adapterstilts.compose import LoadContext, get_composition

    manifest = run.manifest
    method = get_method(run.method)
    options = options or BackboneOptions(model=run.base_model, revision=manifest["base_model"].get("revision"))
    if method.name == "full":  # the run's module is the whole encoder
        return load_encoder(options, path=str(run.module_dir), trainable=False)
    base_config = load_config(options.model, options.revision)
    check_base(run, config_fingerprint(base_config), options.model)
    encoder = load_encoder(options, trainable=False)
    warn_other_weights(run, weights_fingerprint(options.model, options.revision), options.model, log)
    ctx = LoadContext(encoder, method, run, list(manifest.get("intermediates") or []))
    encoder = get_composition(run.compose).load(ctx)
    _attach_language_adapter(encoder, run)
    return encoder


def head_for_task(run: Run, task_name: str | None = None) -> tuple[str, Path]:
    """(task, head file) of a run: its own head, or for a multi-task run the head of ``task_name``."""
    heads = run.manifest.get("head", {}).get("files")
    if heads:  # a multi-task run: one head per task under heads/
        if task_name not in heads:
            raise UserError(f"{run.path} is a multi-task run with heads for {', '.join(heads)}; pick one with --task "
                            "(or a retrieval task: bucc2018, tatoeba)")
        return task_name, run.path / heads[task_name]
    if not run.head_file.is_file():
        raise UserError(f"{run.path} has no task head ({run.head_file.name}); it can be evaluated on retrieval tasks "
                        "(--task bucc2018 / tatoeba) or used as an --intermediate")
    return run.manifest["task"], run.head_file


def load_run_model(run: Run, options: BackboneOptions | None = None, log=print, task_name: str | None = None,
                   format_overrides: dict | None = None) -> tuple[TaskModel, Task, Format]:
    """Rebuild a finished run's model (intermediates + module + head) for evaluation, with the format
    settings it was trained with (``format_overrides``: e.g. another QA answer text at evaluation)."""
    from safetensors.torch import load_file

    head_task, head_file = head_for_task(run, task_name)
    task = get_task(head_task)
    settings = {**format_settings(run.manifest.get("hyperparameters") or {}), **(format_overrides or {})}
    fmt = get_format(task.format, **settings)
    encoder = load_run_encoder(run, options, log)
    head = _head_for(fmt, task, encoder)
    head.load_state_dict(load_file(str(head_file)))
    model = TaskModel(encoder, head, fmt)
    model.eval()
    return model, task, fmt


def save_head(head: nn.Module, path: Path) -> None:
    from safetensors.torch import save_file

    save_file({k: v.detach().contiguous().cpu() for k, v in head.state_dict().items()}, str(path))


def model_device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device
