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
from adapterstilts.formats.base import Format, get_format
from adapterstilts.methods import Method, get_method
from adapterstilts.model.backbone import BackboneOptions, architecture, config_fingerprint, load_config, load_encoder
from adapterstilts.methods.lora import TRAINED as LORA_TRAINED
from adapterstilts.runs import INTERMEDIATES_DIR, MANIFEST, MODULE_DIR, Run, write_json_atomic
from adapterstilts.tasks.base import Task, get_task


MERGED = "merged_intermediates"


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


def module_name_for(method: Method, task: str) -> str:
    return LORA_TRAINED if method.name == "lora" else task


def check_base(run: Run, config_hash: str, model: str) -> None:
    if run.config_hash != config_hash:
        raise UserError(f"module {run.path} was trained on base model {run.base_model!r} (config {run.config_hash}), "
                        f"which does not match --model {model!r} (config {config_hash}); use the same base model")


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


def build_for_training(config, intermediate_runs: list[Run], module_name: str | None = None) -> Assembled:
    """Assemble the model a training run starts from. Seeds before any module is created."""
    from transformers import set_seed

    task = get_task(config.task)
    fmt = get_format(task.format)
    method = get_method(config.method)
    options: BackboneOptions = config.backbone()
    base_config = load_config(config.model, config.revision)
    config_hash = config_fingerprint(base_config)
    for run in intermediate_runs:
        if run.compose in ("stack", "fuse", "merge"):
            chain = " ".join(f"--intermediate {i.get('source', i['module_name'])}" for i in run.manifest["intermediates"])
            raise UserError(f"{run.path} is itself a {run.compose} run over other modules, which would be dropped "
                            f"here; pass its modules in order instead: {chain} --intermediate {run.path}")
        check_base(run, config_hash, config.model)
        if run.method != method.name:
            raise UserError(f"intermediate {run.path} is a {run.method} module but --method is {method.name}; "
                            f"use --method {run.method} to compose with it")
    set_seed(config.seed)
    name = module_name_for(method, module_name or task.name)
    names = _intermediate_names(intermediate_runs, reserved=name)

    if method.name == "full":
        path = str(intermediate_runs[0].module_dir) if config.compose == "continue" else None
        encoder = load_encoder(options, path=path, trainable=True)
        method.add(encoder, name, {})
    else:
        encoder = load_encoder(options, trainable=False)
        if config.compose == "continue":
            encoder = method.load(encoder, intermediate_runs[0].module_dir, name, trainable=True)
            encoder = method.activate(encoder, [name], train=name)
        elif config.compose in ("stack", "merge"):
            for run, inter_name in zip(intermediate_runs, names):
                encoder = method.load(encoder, run.module_dir, inter_name, trainable=False)
            below = names
            if config.compose == "merge":
                encoder = method.merge(encoder, names, MERGED, config.resolved_merge_weights())
                below = [MERGED]
            encoder = method.add(encoder, name, config.method_settings())
            encoder = method.activate(encoder, below + [name], train=name)
        elif config.compose == "fuse":
            for run, inter_name in zip(intermediate_runs, names):
                encoder = method.load(encoder, run.module_dir, inter_name, trainable=False)
            name = ",".join(names)
            encoder = method.activate(encoder, names, train=name, fuse=True)
        else:
            encoder = method.add(encoder, name, config.method_settings())
            encoder = method.activate(encoder, [name], train=name)
    head = _head_for(fmt, task, encoder)
    model = TaskModel(encoder, head, fmt, quantized=options.quantized)
    return Assembled(model, task, fmt, method, name, intermediate_runs, config_hash, names, architecture(base_config))


def record_intermediates(runs: list[Run], names: list[str], out: Path, *, copy: bool) -> list[dict]:
    """Manifest entries of the intermediate runs; with ``copy`` (stack / fuse / merge, which need them
    at load time) their modules and manifests are copied into the run folder too."""
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
    return to_inference_device(_assemble_run_encoder(run, options), options)


def _assemble_run_encoder(run: Run, options: BackboneOptions | None) -> nn.Module:
    manifest = run.manifest
    method = get_method(run.method)
    options = options or BackboneOptions(model=run.base_model, revision=manifest["base_model"].get("revision"))
    compose = run.compose
    if method.name == "full":
        return load_encoder(options, path=str(run.module_dir), trainable=False)
    base_config = load_config(options.model, options.revision)
    check_base(run, config_fingerprint(base_config), options.model)
    encoder = load_encoder(options, trainable=False)
    inter_names: list[str] = []
    if compose in ("stack", "fuse", "merge"):
        for entry in manifest.get("intermediates", []):
            folder = run.path / INTERMEDIATES_DIR / entry["module_name"] / MODULE_DIR
            encoder = method.load(encoder, folder, entry["module_name"], trainable=False)
            inter_names.append(entry["module_name"])
    if compose == "merge":
        encoder = method.merge(encoder, inter_names, MERGED, manifest["merge_weights"])
        inter_names = [MERGED]
    encoder = method.load(encoder, run.module_dir, run.module_name, trainable=False)
    if compose == "fuse":
        return method.activate(encoder, inter_names, fuse=True)
    return method.activate(encoder, inter_names + [run.module_name])


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


def load_run_model(run: Run, options: BackboneOptions | None = None, log=print,
                   task_name: str | None = None) -> tuple[TaskModel, Task, Format]:
    """Rebuild a finished run's model (intermediates + module + head) for evaluation."""
    from safetensors.torch import load_file

    head_task, head_file = head_for_task(run, task_name)
    task = get_task(head_task)
    fmt = get_format(task.format)
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
