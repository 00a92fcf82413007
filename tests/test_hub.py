"""Sharing runs on the Hub, offline: push (HfApi calls captured, nothing sent), then load back by repo
id from an HF cache laid out the way huggingface_hub lays it out, with HF_HUB_OFFLINE=1."""
import hashlib
import json
import os
import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from adapterstilts.config import TrainConfig
from adapterstilts.errors import UserError
from adapterstilts.training.pipeline import train

TOKEN = "hf_" + "TestTokenNeverUploaded1234567890"


# ---- helpers ---------------------------------------------------------------------------------------
def hub_cache() -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def put_in_cache(repo_id: str, folder: Path, refs=("main",), commit: str | None = None) -> str:
    """Lay ``folder`` out as huggingface_hub caches a model repo: blobs by hash, snapshots/<commit>/
    as relative symlinks into blobs, refs/<branch> holding the commit. Returns the commit."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    commit = commit or hashlib.sha1(b"".join(p.read_bytes() for p in files) + repo_id.encode()).hexdigest()
    repo = hub_cache() / f"models--{repo_id.replace('/', '--')}"
    for path in files:
        data = path.read_bytes()
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        link = repo / "snapshots" / commit / path.relative_to(folder)
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(os.path.relpath(blob, link.parent))
    for ref in refs:
        (repo / "refs").mkdir(parents=True, exist_ok=True)
        (repo / "refs" / ref).write_text(commit)
    return commit


class FakeHub:
    """Stands in for HfApi's network calls; keeps a copy of every upload."""

    def __init__(self, root: Path):
        self.root, self.calls, self.uploads = root, [], []

    def install(self, monkeypatch):
        from huggingface_hub import HfApi

        hub = self

        def create_repo(self, repo_id, **kwargs):
            hub.calls.append(("create_repo", repo_id, kwargs))
            return SimpleNamespace(repo_id=repo_id, url=f"https://huggingface.co/{repo_id}")

        def create_branch(self, repo_id, **kwargs):
            hub.calls.append(("create_branch", repo_id, kwargs))

        def upload_folder(self, *, repo_id, folder_path, **kwargs):
            hub.calls.append(("upload_folder", repo_id, kwargs))
            copy = hub.root / f"upload{len(hub.uploads)}"
            shutil.copytree(folder_path, copy)
            hub.uploads.append(copy)
            oid = hashlib.sha1(str(copy).encode()).hexdigest()
            return SimpleNamespace(oid=oid, commit_url=f"https://huggingface.co/{repo_id}/commit/{oid}")

        monkeypatch.setattr(HfApi, "create_repo", create_repo)
        monkeypatch.setattr(HfApi, "create_branch", create_branch)
        monkeypatch.setattr(HfApi, "upload_folder", upload_folder)
        return self


def logits_of(run, tokenizer, model=None):
    from adapterstilts.model.assemble import load_run_model

    model = model or load_run_model(run)[0]
    enc = tokenizer(["the cat sat on the mat", "a dog runs"], ["a cat sits", "nothing moves"], padding=True,
                    return_tensors="pt")
    with torch.no_grad():
        return model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])["logits"]


def quick_train(tiny, out, **kw):
    args = dict(task="mnli", output=str(out), model=str(tiny), data="sample", method="lora", max_steps=2,
                batch_size=4, lr=1e-2, progress=False)  # a large lr: modules that visibly change the output
    args.update(kw)
    return train(TrainConfig(**args), log=lambda m: None)


# ---- fixtures --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_on_hub(tiny_model_dir):
    """The tiny model cached as Hub repo user/tiny-xlmr (so pushed runs can name a Hub base model)."""
    put_in_cache("user/tiny-xlmr", Path(tiny_model_dir))
    return "user/tiny-xlmr"


@pytest.fixture(scope="module")
def lora_run(tiny_model_dir, tmp_path_factory):
    from adapterstilts.evaluation.zero_shot import evaluate_run

    run = quick_train(tiny_model_dir, tmp_path_factory.mktemp("runs") / "mnli-lora")
    evaluate_run(run.path, data="sample", languages="en", log=lambda m: None)  # writes RUN/metrics.json
    (run.path / "checkpoints" / "checkpoint-1").mkdir(parents=True)  # must never be uploaded
    (run.path / "checkpoints" / "checkpoint-1" / "optimizer.pt").write_bytes(b"x")
    return run


@pytest.fixture(scope="module")
def pushed(lora_run, tiny_on_hub, tmp_path_factory):
    """lora_run pushed to user/mnli-lora (main) and to branch v1, with HF_TOKEN set; then cached."""
    from adapterstilts.runs.hub import push_run

    mp = pytest.MonkeyPatch()
    try:
        mp.setenv("HF_TOKEN", TOKEN)
        hub = FakeHub(tmp_path_factory.mktemp("hub")).install(mp)
        logs = []
        result = push_run(lora_run.path, "user/mnli-lora", base_model=tiny_on_hub, log=logs.append)
        result_v1 = push_run(lora_run.path, "user/mnli-lora", revision="v1", log=logs.append,
                             base_model=tiny_on_hub)
    finally:
        mp.undo()
    commit = put_in_cache("user/mnli-lora", hub.uploads[0], refs=("main",))
    commit_v1 = put_in_cache("user/mnli-lora", hub.uploads[1], refs=("v1",), commit="1" * 40)
    return SimpleNamespace(hub=hub, result=result, result_v1=result_v1, folder=hub.uploads[0], commit=commit,
                           commit_v1=commit_v1, logs=logs)


# ---- push ------------------------------------------------------------------------------------------
def test_push_uploads_a_sanitised_run_with_a_card(pushed, lora_run, tiny_model_dir):
    folder = pushed.folder
    files = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert {"manifest.json", "head.safetensors", "metrics.json", "README.md", "module/adapter_config.json",
            "module/adapter_model.safetensors"} <= files
    assert not any(f.startswith("checkpoints") or f.endswith(".pt") for f in files)
    assert "module/README.md" not in files  # peft's own card names the local base model path
    assert sorted(files) == pushed.result.files
    kinds = [c[0] for c in pushed.hub.calls]
    assert kinds == ["create_repo", "upload_folder", "create_repo", "create_branch", "upload_folder"]
    assert pushed.hub.calls[0][2]["exist_ok"] is True
    assert pushed.hub.calls[4][2]["revision"] == "v1" and pushed.result_v1.revision == "v1"

    secrets = [TOKEN, str(tiny_model_dir), str(lora_run.path), str(Path(tiny_model_dir).parent)]
    for path in folder.rglob("*"):
        if path.is_file() and path.suffix != ".safetensors":
            text = path.read_text(encoding="utf-8")
            for secret in secrets:
                assert secret not in text, f"{secret!r} leaked into {path.name}"
            assert not re.search(r"(?<![\w<:])/(tmp|home|root|Users)/", text), path.name
    adapter_cfg = json.loads((folder / "module" / "adapter_config.json").read_text())
    assert adapter_cfg["base_model_name_or_path"] == "user/tiny-xlmr"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["base_model"]["name"] == "user/tiny-xlmr"
    assert manifest["train"]["data"] == "sample"
    assert manifest["module_size_bytes"] == lora_run.manifest["module_size_bytes"]


def test_model_card_content(pushed, lora_run):
    card = (pushed.folder / "README.md").read_text()
    assert card.startswith("---\n") and "library_name: peft" in card and "base_model: user/tiny-xlmr" in card
    en = json.loads((lora_run.path / "metrics.json").read_text())["mnli"]["languages"]["en"]["accuracy"]
    assert re.search(rf"\| en \| {en:.2f} \|", card)  # the per-language metrics table
    assert "| **average** |" in card
    assert "r=8, alpha=16" in card and "mnli" in card and "intermediate" in card
    kb = lora_run.manifest["module_size_bytes"] / 1000
    assert f"{kb:.1f} kB" in card  # module size on disk
    assert 'snapshot_download("user/mnli-lora", allow_patterns=["module/*"])' in card
    assert 'PeftModel.from_pretrained(base, os.path.join(path, "module"))' in card
    assert "--intermediate user/mnli-lora" in card
    assert "2005.13013" in card and "Phang, Jason" in card
    assert "peft " in card and "transformers " in card  # framework versions
    assert TOKEN not in card


def test_push_without_base_model_replaces_the_local_path(lora_run, tmp_path, monkeypatch, tiny_model_dir):
    from adapterstilts.runs.hub import push_run

    hub = FakeHub(tmp_path).install(monkeypatch)
    logs = []
    push_run(lora_run.path, "user/other", private=True, commit_message="first", log=logs.append)
    assert hub.calls[0][2]["private"] is True and hub.calls[1][2]["commit_message"] == "first"
    folder = hub.uploads[0]
    name = Path(tiny_model_dir).name
    assert json.loads((folder / "manifest.json").read_text())["base_model"]["name"] == f"<local:{name}>"
    assert str(tiny_model_dir) not in (folder / "README.md").read_text()
    assert any("--base-model" in line for line in logs)


def test_push_refuses_a_token_found_in_the_run(lora_run, tmp_path, monkeypatch):
    from adapterstilts.runs.hub import push_run

    run_dir = tmp_path / "run"
    shutil.copytree(lora_run.path, run_dir)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    metrics["mnli"]["note"] = f"made with {TOKEN}"
    (run_dir / "metrics.json").write_text(json.dumps(metrics))
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    hub = FakeHub(tmp_path / "hub").install(monkeypatch)
    with pytest.raises(UserError) as err:
        push_run(run_dir, "user/x", log=lambda m: None)
    assert "token" in str(err.value) and TOKEN not in str(err.value) and "\n" not in str(err.value)
    assert not hub.uploads


def test_push_offline_is_a_one_line_error(lora_run):
    from adapterstilts.runs.hub import push_run

    with pytest.raises(UserError, match="HF_HUB_OFFLINE"):
        push_run(lora_run.path, "user/x", log=lambda m: None)  # real HfApi: refused before any request


def test_push_refuses_a_wrong_base_model(lora_run, tmp_path, monkeypatch, other_base):
    from adapterstilts.runs.hub import push_run

    FakeHub(tmp_path).install(monkeypatch)
    put_in_cache("user/other-base", other_base)
    with pytest.raises(UserError, match="not the model this run was trained on"):
        push_run(lora_run.path, "user/x", base_model="user/other-base", log=lambda m: None)


# ---- load back by repo id ---------------------------------------------------------------------------
def test_resolve_by_repo_id_offline_gives_identical_logits(pushed, lora_run, tiny_tokenizer):
    from adapterstilts.runs.refs import HubRun, resolve_run

    local = logits_of(lora_run, tiny_tokenizer)
    for ref, commit in (("user/mnli-lora", pushed.commit), (f"user/mnli-lora@{pushed.commit}", pushed.commit),
                        ("user/mnli-lora@v1", pushed.commit_v1)):
        run = resolve_run(ref)
        assert isinstance(run, HubRun) and run.commit == commit
        assert hub_cache() in run.path.parents
        assert run.manifest["source"] == f"user/mnli-lora@{commit}"
        assert torch.allclose(logits_of(run, tiny_tokenizer), local, atol=1e-6)


def test_evaluate_by_repo_id_matches_local(pushed, lora_run):
    from adapterstilts.evaluation.zero_shot import evaluate_run

    local = json.loads((lora_run.path / "metrics.json").read_text())["mnli"]
    remote = evaluate_run("user/mnli-lora", data="sample", languages="en", log=lambda m: None)
    assert remote["languages"] == local["languages"]


@pytest.fixture(scope="module")
def stacked(pushed, lora_run, tiny_model_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("stacked")
    via_hub = quick_train(tiny_model_dir, out / "hub", compose="stack", intermediates=["user/mnli-lora"])
    via_dir = quick_train(tiny_model_dir, out / "dir", compose="stack", intermediates=[str(lora_run.path)])
    return SimpleNamespace(via_hub=via_hub, via_dir=via_dir)


def test_stack_on_a_hub_module_equals_stack_on_the_local_run(pushed, stacked, tiny_tokenizer):
    assert stacked.via_hub.manifest["intermediates"][0]["source"] == f"user/mnli-lora@{pushed.commit}"
    assert torch.allclose(logits_of(stacked.via_hub, tiny_tokenizer), logits_of(stacked.via_dir, tiny_tokenizer),
                          atol=1e-6)


def test_push_of_a_stacked_run_hides_local_intermediate_sources(stacked, lora_run, tmp_path):
    from adapterstilts.runs.hub import stage_run

    local_source = stacked.via_dir.manifest["intermediates"][0]["source"]
    assert local_source == str(lora_run.path)  # what training recorded
    files = stage_run(stacked.via_dir, tmp_path, "user/stacked", base_model="user/tiny-xlmr", log=lambda m: None)
    assert "intermediates/mnli/module/adapter_model.safetensors" in files
    entry = json.loads((tmp_path / "manifest.json").read_text())["intermediates"][0]
    assert entry["source"] == f"<local:{lora_run.path.name}>"
    for name in files:
        if not name.endswith(".safetensors"):
            assert str(lora_run.path.parent) not in (tmp_path / name).read_text(), name
    card = (tmp_path / "README.md").read_text()
    assert "stack on intermediates: mnli" in card and 'adapter_name="mnli"' in card


def card_model(repo_id: str, folder: Path):
    """Run the first Python block of the card pushed to ``repo_id`` (offline, from the HF cache)."""
    code = re.search(r"```python\n(.*?)```", (folder / "README.md").read_text(), re.S).group(1)
    scope: dict = {}
    exec(compile(code, f"{repo_id}/README.md", "exec"), scope)
    return scope["model"].eval()


def hidden(encoder, tokenizer):
    enc = tokenizer(["the cat sat on the mat", "a dog runs"], padding=True, return_tensors="pt")
    with torch.no_grad():
        return encoder(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state


def assert_card_code_rebuilds(run, repo_id, tmp_path, tokenizer, tiny_model_dir):
    from transformers import AutoModel

    from adapterstilts.runs.hub import stage_run
    from adapterstilts.model.assemble import load_run_model

    stage_run(run, tmp_path / "staged", repo_id, base_model="user/tiny-xlmr", log=lambda m: None)
    put_in_cache(repo_id, tmp_path / "staged")
    expected = hidden(load_run_model(run)[0].encoder, tokenizer)
    assert torch.allclose(hidden(card_model(repo_id, tmp_path / "staged"), tokenizer), expected, atol=1e-5)
    plain = AutoModel.from_pretrained(tiny_model_dir, add_pooling_layer=False).eval()
    assert not torch.allclose(hidden(plain, tokenizer), expected, atol=1e-5)  # the modules do something


def test_card_instructions_rebuild_the_encoder_with_plain_peft(stacked, tmp_path, tiny_tokenizer, tiny_model_dir):
    assert_card_code_rebuilds(stacked.via_hub, "user/mnli-stacked", tmp_path, tiny_tokenizer, tiny_model_dir)


def test_card_instructions_rebuild_the_encoder_with_plain_adapters(tiny_model_dir, tmp_path, tiny_tokenizer,
                                                                    tiny_on_hub):
    run = quick_train(tiny_model_dir, tmp_path / "bn", method="bottleneck")
    assert_card_code_rebuilds(run, "user/mnli-bottleneck", tmp_path, tiny_tokenizer, tiny_model_dir)


def test_pushed_card_instructions_run_with_plain_peft(pushed, lora_run, tiny_tokenizer):
    from adapterstilts.model.assemble import load_run_model

    model = card_model("user/mnli-lora", pushed.folder)
    assert torch.allclose(hidden(model, tiny_tokenizer), hidden(load_run_model(lora_run)[0].encoder, tiny_tokenizer),
                          atol=1e-5)


def test_not_in_cache_offline_is_a_one_line_error():
    from adapterstilts.runs.refs import resolve_run

    with pytest.raises(UserError) as err:
        resolve_run("user/never-pushed@dev")
    message = str(err.value)
    assert "user/never-pushed" in message and "HF_HUB_OFFLINE" in message and "adapterstilts pull" in message
    assert "\n" not in message


def test_cli_pull_and_dry_run(pushed, lora_run):
    from typer.testing import CliRunner

    from adapterstilts.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["pull", "user/mnli-lora@v1"])
    assert result.exit_code == 0, result.output
    assert "mnli" in result.output and pushed.commit_v1 in result.output
    result = runner.invoke(app, ["pull", "user/never-pushed"])
    assert result.exit_code == 2 and "HF_HUB_OFFLINE" in result.output
    result = runner.invoke(app, ["push", str(lora_run.path), "user/dry", "--dry-run", "--base-model", "user/tiny-xlmr"])
    assert result.exit_code == 0, result.output
    assert "module/adapter_model.safetensors" in result.output and "# user/dry" in result.output


# ---- safety ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def plain_peft(tiny_model_dir, tmp_path_factory):
    """A LoRA adapter made with peft alone (no adapterstilts manifest)."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModel

    torch.manual_seed(1)
    model = get_peft_model(AutoModel.from_pretrained(tiny_model_dir, add_pooling_layer=False),
                           LoraConfig(r=4, lora_alpha=8, target_modules=["query", "value"], init_lora_weights=False))
    out = tmp_path_factory.mktemp("peft") / "someones-lora"
    model.save_pretrained(out)
    return out


def test_pickle_weights_refused_unless_allowed(plain_peft, tmp_path, monkeypatch):
    from safetensors.torch import load_file

    from adapterstilts.runs.refs import ExternalRun, resolve_run

    folder = tmp_path / "pickled"
    folder.mkdir()
    shutil.copy(plain_peft / "adapter_config.json", folder)
    torch.save(load_file(str(plain_peft / "adapter_model.safetensors")), folder / "adapter_model.bin")
    with pytest.raises(UserError, match="--allow-pickle") as err:
        resolve_run(folder)
    assert "adapter_model.bin" in str(err.value)
    assert isinstance(resolve_run(folder, allow_pickle=True), ExternalRun)
    monkeypatch.setenv("ADAPTERSTILTS_ALLOW_PICKLE", "1")
    assert resolve_run(folder).method == "lora"
    monkeypatch.delenv("ADAPTERSTILTS_ALLOW_PICKLE")
    put_in_cache("user/pickled", folder)  # the same refusal for a cached Hub repo
    with pytest.raises(UserError, match="pickle"):
        resolve_run("user/pickled")


@pytest.fixture(scope="module")
def other_base(tiny_model_dir, tmp_path_factory):
    """A tiny model with another architecture (2 layers instead of 4), same tokenizer."""
    from transformers import AutoConfig, XLMRobertaModel

    out = tmp_path_factory.mktemp("other") / "tiny-2layers"
    config = AutoConfig.from_pretrained(tiny_model_dir)
    config.num_hidden_layers = 2
    XLMRobertaModel(config, add_pooling_layer=False).save_pretrained(out)
    for name in Path(tiny_model_dir).iterdir():
        if "token" in name.name or name.name.endswith(".model"):
            shutil.copy(name, out)
    return out


def test_base_model_mismatch_refused(pushed, other_base, tiny_model_dir, tmp_path):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModel

    from adapterstilts.model.assemble import load_run_model
    from adapterstilts.model.backbone import BackboneOptions
    from adapterstilts.runs.refs import resolve_run

    lora = get_peft_model(AutoModel.from_pretrained(other_base, add_pooling_layer=False),
                          LoraConfig(r=2, target_modules=["query"]))
    lora.save_pretrained(tmp_path / "lora-for-other")
    with pytest.raises(UserError, match="does not match"):
        quick_train(tiny_model_dir, tmp_path / "out", compose="stack", intermediates=[str(tmp_path / "lora-for-other")])
    assert not (tmp_path / "out").exists()
    with pytest.raises(UserError, match="does not match"):
        load_run_model(resolve_run("user/mnli-lora"), BackboneOptions(model=str(other_base)))


# ---- modules published without adapterstilts --------------------------------------------------------
def test_plain_peft_adapter_is_an_intermediate(plain_peft, tiny_model_dir, tmp_path, caplog, tiny_tokenizer):
    from safetensors.torch import load_file

    from adapterstilts.model.assemble import load_run_model
    from adapterstilts.model.backbone import config_fingerprint, load_config
    from adapterstilts.runs.refs import ExternalRun, resolve_run

    with caplog.at_level("WARNING", logger="adapterstilts.runs.refs"):
        run = resolve_run(plain_peft)
    assert isinstance(run, ExternalRun) and run.module_dir == plain_peft
    assert (run.method, run.task, run.base_model) == ("lora", "external", str(tiny_model_dir))
    assert run.config_hash == config_fingerprint(load_config(str(tiny_model_dir)))
    assert run.manifest["method_settings"]["r"] == 4
    assert len(run.assumptions) >= 3 and any("peft_type LORA" in a for a in run.assumptions)
    logged = [r.getMessage() for r in caplog.records]
    assert len(logged) == len(run.assumptions) and all("\n" not in m and "assumed" in m for m in logged)

    target = quick_train(tiny_model_dir, tmp_path / "stacked", compose="stack", intermediates=[str(plain_peft)])
    entry = target.manifest["intermediates"][0]
    assert (entry["task"], entry["method"], entry["source"]) == ("external", "lora", str(plain_peft))
    copied = target.path / "intermediates" / entry["module_name"] / "module" / "adapter_model.safetensors"
    original = load_file(str(plain_peft / "adapter_model.safetensors"))
    assert all(torch.equal(v, load_file(str(copied))[k]) for k, v in original.items())
    # the external module is active under the trained one: dropping it changes the output
    model = load_run_model(target)[0]
    with_it = logits_of(target, tiny_tokenizer, model)
    model.encoder.base_model.set_adapter(["default"])
    assert not torch.allclose(with_it, logits_of(target, tiny_tokenizer, model))


def test_plain_adapters_bottleneck_is_recognised(tiny_model_dir, tmp_path):
    import adapters
    from transformers import AutoModel

    from adapterstilts.model.backbone import config_fingerprint, load_config
    from adapterstilts.runs.refs import resolve_run

    model = AutoModel.from_pretrained(tiny_model_dir, add_pooling_layer=False)
    adapters.init(model)
    model.add_adapter("sentiment", config="seq_bn")
    model.save_adapter(str(tmp_path / "bn"), "sentiment", with_head=False, use_safetensors=True)
    run = resolve_run(tmp_path / "bn", log=lambda m: None)
    assert (run.method, run.task, run.module_name) == ("bottleneck", "external", "sentiment")
    assert run.config_hash == config_fingerprint(load_config(str(tiny_model_dir)))
    assert any("bottleneck" in a for a in run.assumptions)


def _copy_with_config(adapter: Path, folder: Path, **changes) -> Path:
    """A copy of a peft adapter folder with fields of its adapter_config.json changed."""
    shutil.copytree(adapter, folder)
    cfg = json.loads((folder / "adapter_config.json").read_text())
    cfg.update(changes)
    (folder / "adapter_config.json").write_text(json.dumps(cfg))
    return folder


def test_unknown_base_model_needs_a_model(plain_peft, tmp_path, tiny_model_dir):
    from adapterstilts.runs.refs import resolve_run

    folder = _copy_with_config(plain_peft, tmp_path / "anon", base_model_name_or_path="/somewhere/else/xlmr")
    with pytest.raises(UserError, match="cannot tell which base model"):
        resolve_run(folder)
    run = resolve_run(folder, model=str(tiny_model_dir), log=lambda m: None)
    assert run.base_model == str(tiny_model_dir) and any("/somewhere/else/xlmr" in a for a in run.assumptions)


def test_plain_peft_adapter_from_the_hub_cache(plain_peft):
    from adapterstilts.runs.refs import ExternalRun, resolve_run

    commit = put_in_cache("someone/xlmr-lora", plain_peft)
    run = resolve_run("someone/xlmr-lora", log=lambda m: None)
    assert isinstance(run, ExternalRun) and run.method == "lora"
    assert run.manifest["source"] == f"someone/xlmr-lora@{commit}"
    assert (run.module_dir / "adapter_config.json").is_file() and hub_cache() in run.module_dir.parents


def test_other_peft_types_are_refused(plain_peft, tmp_path):
    from adapterstilts.runs.refs import resolve_run

    folder = _copy_with_config(plain_peft, tmp_path / "ia3", peft_type="IA3")
    with pytest.raises(UserError, match="IA3"):
        resolve_run(folder)
