"""The benchmark scripts keep working (their numbers are recorded in docs/benchmarks.md, not asserted)."""
import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_bench_speed_prints_its_table(tiny_model_dir, capsys):
    path = Path(__file__).parent.parent / "scripts" / "bench_speed.py"
    spec = importlib.util.spec_from_file_location("bench_speed", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--model", str(tiny_model_dir), "--steps", "1", "--batch-size", "4"]) == 0
    table = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    assert len(table) == 4 and all(line.rstrip().endswith("x |") for line in table[1:])


def test_bench_memory_tiny_measures_every_row_on_cpu():
    from adapterstilts.errors import UserError
    from adapterstilts.model.backbone import BackboneOptions, check_quantization_possible

    try:
        check_quantization_possible(BackboneOptions(load_in_8bit=True))
        can_quantise = True
    except UserError:
        can_quantise = False
    command = [sys.executable, str(ROOT / "scripts" / "bench_memory.py"), "--tiny", "--device", "cpu",
               "--rows", "fp32-full,8bit-lora", "--warmup", "1", "--steps", "1"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in result.stdout.splitlines() if line.startswith("| ") and not line.startswith("| setup")}
    full, eight = rows["fp32 full fine-tune"], rows["8-bit LoRA (bf16 compute)"]
    assert float(full[0]) > 0 and full[1] == "1.00" and float(full[2]) > 0
    if can_quantise:  # measured, with fewer trainable parameters than the full fine-tune
        assert float(eight[0]) > 0 and float(eight[2]) > 0
        assert int(eight[4].replace(",", "")) < int(full[4].replace(",", ""))
    else:
        assert eight[0] == "-" and "skipped" in eight[5]


def test_bench_train_tiny_runs_every_setup_and_reports_ratios(tmp_path):
    """bench_train.py --tiny: (a), (b) and (c) each train in their own process on the synthetic data,
    and the report has one row per setup, the per-epoch loss and both ratios (no timing asserted)."""
    command = [sys.executable, str(ROOT / "scripts" / "bench_train.py"), "--tiny", "--work", str(tmp_path / "work"),
               "--json", str(tmp_path / "runs.json")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line for line in result.stdout.splitlines() if line.startswith("| (")]
    assert [r.split("|")[1].strip()[:3] for r in rows] == ["(a)", "(b)", "(c)"]
    assert "c/a: " in result.stdout and "c/b: " in result.stdout
    import json

    recorded = json.loads((tmp_path / "runs.json").read_text())
    assert recorded["data"]["rows"] == 64 and recorded["data"]["max"] == 256
    assert {r["setup"] for r in recorded["runs"]} == {"plain", "tuned", "adapterstilts"}
    assert all(r["train_s"] > 0 and r["train_cpu_s"] > 0 and r["losses"] for r in recorded["runs"])
    assert "c/b in train CPU seconds" in result.stdout


def test_bench_eval_tiny_checks_equal_logits_and_reports_ratios(tmp_path):
    """bench_eval.py --tiny: the toolkit's prediction path and Trainer.predict on the same model give the
    same logits (printed before timing), every setup gets a row and a ratio (no timing asserted)."""
    command = [sys.executable, str(ROOT / "scripts" / "bench_eval.py"), "--tiny", "--work", str(tmp_path / "work"),
               "--json", str(tmp_path / "eval.json")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(x for x in result.stdout.splitlines() if x.startswith("max |logit difference|"))
    differences = [float(part.split()[-1].rstrip(",")) for part in line.split(":", 1)[1].split(",")]
    assert len(differences) == 2 and all(d < 1e-4 for d in differences)
    rows = [x for x in result.stdout.splitlines() if x.startswith("| ") and not x.startswith("| setup")]
    assert len(rows) == 3
    assert "adapterstilts/trainer: " in result.stdout and "full-last-layer/trainer: " in result.stdout
    import json

    recorded = json.loads((tmp_path / "eval.json").read_text())
    assert recorded["examples"] == 64 and all(len(v) == 1 and v[0] > 0 for v in recorded["seconds"].values())
