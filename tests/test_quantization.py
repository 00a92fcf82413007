"""8-bit / 4-bit loading on a machine that cannot do it: a one-line UserError before any work (no
data read, no model built, no folder written), and the combinations that make no sense refused."""
import subprocess
import sys

import pytest

from adapterstilts.config import TrainConfig
from adapterstilts.errors import UserError
from adapterstilts.training.pipeline import partial_dir, train


@pytest.fixture
def cannot_quantise(monkeypatch):
    """This machine as bitsandbytes sees it when it has no backend for the device (e.g. a CPU with a
    bitsandbytes older than 0.48): its quantisation kernels raise."""
    functional = pytest.importorskip("bitsandbytes.functional")

    def no_backend(*args, **kwargs):
        raise RuntimeError("no bitsandbytes kernel for this device")

    monkeypatch.setattr(functional, "int8_vectorwise_quant", no_backend)
    monkeypatch.setattr(functional, "quantize_4bit", no_backend)


def config(tmp_path, tiny_model_dir, **kw):
    args = dict(task="mnli", output=str(tmp_path / "out"), model=str(tiny_model_dir), data="sample", method="lora",
                max_steps=2, batch_size=4, progress=False)
    args.update(kw)
    return TrainConfig(**args)


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if training gets as far as reading data or building the Trainer."""
    import adapterstilts.training.pipeline as training

    def forbidden(*args, **kwargs):
        raise AssertionError("work started before the quantisation check")

    monkeypatch.setattr(training, "build_features", forbidden)
    monkeypatch.setattr(training, "_make_trainer", forbidden)


@pytest.mark.parametrize("flag", ["load_in_8bit", "load_in_4bit"])
def test_kbit_where_bitsandbytes_cannot_quantise_fails_before_any_work(flag, tmp_path, tiny_model_dir, no_work,
                                                                       cannot_quantise):
    cfg = config(tmp_path, tiny_model_dir, **{flag: True})
    with pytest.raises(UserError) as err:
        train(cfg, log=lambda m: None)
    message = str(err.value)
    assert "\n" not in message
    assert f"--{flag.replace('_', '-')}" in message and "cannot quantise" in message and "drop the flag" in message
    assert "no bitsandbytes kernel" in message  # the library's own reason, shortened
    assert not (tmp_path / "out").exists()
    assert not partial_dir(tmp_path / "out").exists()


def test_missing_bitsandbytes_is_named_with_the_fix(tmp_path, tiny_model_dir, monkeypatch, no_work):
    monkeypatch.setitem(sys.modules, "bitsandbytes", None)  # a machine without it: `import bitsandbytes` fails
    with pytest.raises(UserError) as err:
        train(config(tmp_path, tiny_model_dir, load_in_8bit=True, bf16=True), log=lambda m: None)
    message = str(err.value)
    assert "bitsandbytes" in message and "pip install" in message and "\n" not in message
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("kw, expected", [
    ({"load_in_8bit": True, "load_in_4bit": True}, "exclude each other"),
    ({"load_in_8bit": True, "method": "full"}, "--method lora"),
    ({"load_in_4bit": True, "method": "bottleneck"}, "--method lora"),
    ({"bf16": True, "fp16": True}, "exclude each other"),
])
def test_nonsense_combinations_are_refused(kw, expected, tmp_path, tiny_model_dir, no_work):
    with pytest.raises(UserError, match=expected):
        train(config(tmp_path, tiny_model_dir, **kw), log=lambda m: None)
    assert not (tmp_path / "out").exists()


def test_cli_reports_one_line_and_exit_code_2(tmp_path, tiny_model_dir, cannot_quantise):
    from typer.testing import CliRunner

    from adapterstilts.cli import app

    result = CliRunner().invoke(app, ["train-intermediate", "mnli", "--model", str(tiny_model_dir), "--data", "sample",
                                      "--max-steps", "1", "--load-in-8bit", "--output", str(tmp_path / "out")])
    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "--load-in-8bit" in errors[0] and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_importing_the_package_never_imports_bitsandbytes():
    # the CLI and the module that uses bitsandbytes (modules.backbone) import it only inside load_encoder
    code = ("import sys; import adapterstilts, adapterstilts.cli, adapterstilts.config, adapterstilts.runs.hub, "
            "adapterstilts.runs.refs, adapterstilts.model.backbone; "
            "assert 'bitsandbytes' not in sys.modules, 'imported at import time'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-1500:]
