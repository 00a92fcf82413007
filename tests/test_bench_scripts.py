"""The benchmark scripts keep working (their numbers are recorded in docs/benchmarks.md, not asserted)."""
import importlib.util
from pathlib import Path


def test_bench_speed_prints_its_table(tiny_model_dir, capsys):
    path = Path(__file__).parent.parent / "scripts" / "bench_speed.py"
    spec = importlib.util.spec_from_file_location("bench_speed", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--model", str(tiny_model_dir), "--steps", "1", "--batch-size", "4"]) == 0
    table = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    assert len(table) == 4 and all(line.rstrip().endswith("x |") for line in table[1:])
