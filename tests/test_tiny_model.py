"""The bundled tiny model is reproducible: the same seed gives the same bytes in separate processes
(the tokenizer trainer iterates hash maps seeded per process; adapterstilts fixes its scores and order)."""
import hashlib
import subprocess
import sys


def _build(folder):
    code = f"from adapterstilts.tiny_model import make_tiny_model; make_tiny_model({str(folder)!r})"
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=300)
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def test_two_builds_in_separate_processes_are_identical(tmp_path):
    first, second = _build(tmp_path / "a"), _build(tmp_path / "b")
    assert "tokenizer.json" in first and "model.safetensors" in first
    assert first == second


def test_files_follow_the_users_umask(tmp_path):
    """Results and the tiny model are readable by the group (tempfile's 0600 / 0700 are not kept)."""
    import os

    from adapterstilts.runs import write_json_atomic

    old = os.umask(0o022)
    try:
        path = write_json_atomic(tmp_path / "r.json", {"a": 1})
        assert oct(path.stat().st_mode & 0o777) == oct(0o644)
        from adapterstilts.tiny_model import make_tiny_model

        folder = make_tiny_model(tmp_path / "m", layers=1, hidden=16, heads=2, intermediate=16)
        assert oct(folder.stat().st_mode & 0o777) == oct(0o755)
    finally:
        os.umask(old)
