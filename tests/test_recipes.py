"""Recipes: bundled ones load and expand; bad keys, tasks and types are one-line errors naming the key
and the file (or --set); resolution order defaults <- file <- --set."""
import pytest
import yaml
from typer.testing import CliRunner

from adapterstilts.cli import app
from adapterstilts.errors import UserError
from adapterstilts.experiments.recipe import DEFAULTS, bundled_recipes, load_recipe, parse_overrides

MINIMAL = {"name": "t", "method": "lora", "compose": "stack", "intermediates": ["none", "mnli"],
           "targets": ["xnli", "tatoeba"], "seeds": [1]}


def _write(tmp_path, data, name="my-recipe.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data) if isinstance(data, dict) else data, encoding="utf-8")
    return path


def _error(tmp_path, data, overrides=None) -> str:
    path = _write(tmp_path, data)
    with pytest.raises(UserError) as info:
        load_recipe(path, overrides)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_every_bundled_recipe_loads_and_the_paper_grid_is_complete():
    names = set(bundled_recipes())
    assert {"tiny", "baseline", "paper-full", "lora-stack", "lora-continue", "bottleneck-stack", "bottleneck-fuse"} <= names
    for name in names:
        load_recipe(name)
    paper = load_recipe("paper-full")
    assert paper["method"] == "full" and paper["compose"] == "continue"
    assert len(paper["intermediates"]) == 11 and paper["intermediates"][0] == "none" and "multitask" in paper["intermediates"]
    assert len(paper["targets"]) == 9
    epochs = {t: paper.settings("target", t)["epochs"] for t in ("xnli", "pawsx", "udpos", "panx", "xquad", "mlqa", "tydiqa")}
    assert epochs == {"xnli": 2, "pawsx": 5, "udpos": 10, "panx": 10, "xquad": 2, "mlqa": 2, "tydiqa": 2}
    assert paper.settings("target", "xnli")["lr"] == pytest.approx(1e-5)
    qa = paper.settings("target", "xquad")
    assert qa["batch_size"] * qa["grad_accum"] == 16
    cls = paper.settings("target", "xnli")
    assert cls["batch_size"] * cls["grad_accum"] == 32
    tiny = load_recipe("tiny")
    assert tiny["model"] == "tiny" and tiny["data"] == "sample"
    assert all(tiny.settings(p, t)["max_steps"] <= 4 for p, t in (("intermediate", "squad"), ("target", "xquad")))


@pytest.mark.parametrize("data, key", [
    ({**MINIMAL, "learning_rate": 1}, "learning_rate"),
    ({**MINIMAL, "target": {"lrr": 1e-5}}, "target.lrr"),
    ({**MINIMAL, "target": {"per_task": {"xnli": {"epoch": 2}}}}, "target.per_task.xnli.epoch"),
    ({**MINIMAL, "evaluation": {"max_example": 3}}, "evaluation.max_example"),
])
def test_unknown_key_names_the_key_and_the_file(tmp_path, data, key):
    message = _error(tmp_path, data)
    assert "my-recipe.yaml" in message and key in message and "unknown key" in message


@pytest.mark.parametrize("data, key, name", [
    ({**MINIMAL, "intermediates": ["none", "sqad"]}, "intermediates[1]", "sqad"),
    ({**MINIMAL, "targets": ["xnli", "mnli"]}, "targets[1]", "mnli"),  # an intermediate task is no target
    ({**MINIMAL, "target": {"per_task": {"xnly": {"epochs": 2}}}}, "target.per_task.xnly", "xnly"),
    ({**MINIMAL, "multitask_tasks": ["mnli", "nope"]}, "multitask_tasks[1]", "nope"),
    ({**MINIMAL, "languages": {"xnli": ["en", "xx"]}}, "languages.xnli", "xx"),
])
def test_unknown_task_names_the_key_and_the_file(tmp_path, data, key, name):
    message = _error(tmp_path, data)
    assert "my-recipe.yaml" in message and key in message and repr(name) in message


@pytest.mark.parametrize("data, key", [
    ({**MINIMAL, "seeds": "many"}, "seeds"),
    ({**MINIMAL, "seeds": [1, "two"]}, "seeds"),
    ({**MINIMAL, "target": {"epochs": "ten"}}, "target.epochs"),
    ({**MINIMAL, "intermediate": {"batch_size": 2.5}}, "intermediate.batch_size"),
    ({**MINIMAL, "intermediate": {"bf16": "yes"}}, "intermediate.bf16"),
    ({**MINIMAL, "target": ["epochs", 2]}, "target"),
    ({**MINIMAL, "method": "adapter"}, "method"),
])
def test_wrong_type_or_value_names_the_key_and_the_file(tmp_path, data, key):
    message = _error(tmp_path, data)
    assert "my-recipe.yaml" in message and f"{key}:" in message


def test_cross_key_checks(tmp_path):
    assert "compose" in _error(tmp_path, {**MINIMAL, "method": "full", "compose": "stack"})
    assert "compose" in _error(tmp_path, {**MINIMAL, "compose": "none"})  # intermediates listed but none used
    assert "seeds" in _error(tmp_path, {**MINIMAL, "seeds": []})


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    message = _error(tmp_path, "name: t\nseeds: [1, 2\nmethod: lora\n")
    assert "my-recipe.yaml" in message and "line" in message


def test_resolution_order_defaults_then_file_then_set(tmp_path):
    path = _write(tmp_path, {**MINIMAL, "target": {"lr": 3e-4, "per_task": {"xnli": {"epochs": 4}}}})
    recipe = load_recipe(path)
    assert recipe.settings("target", "xnli")["epochs"] == 4  # file beats default (2)
    assert recipe.settings("target", "pawsx")["epochs"] == DEFAULTS["target"]["per_task"]["pawsx"]["epochs"]
    assert recipe.settings("target", "xnli")["lr"] == pytest.approx(3e-4)
    recipe = load_recipe(path, ["target.per_task.xnli.epochs=7", "seeds=[3, 4]", "intermediate.lr=1e-5",
                                "evaluation.max_examples=5", "languages.xnli=[de]", "output=/tmp/x"])
    assert recipe.settings("target", "xnli")["epochs"] == 7
    assert recipe["seeds"] == [3, 4]
    assert recipe.settings("intermediate", "mnli")["lr"] == pytest.approx(1e-5)  # YAML "1e-5" is a string: coerced
    assert recipe["evaluation"]["max_examples"] == 5
    assert recipe.languages_for("xnli") == ["de"] and recipe.languages_for("tatoeba") == "all"
    assert recipe["output"] == "/tmp/x"
    assert recipe.settings("target", "xnli")["lr"] == pytest.approx(3e-4)  # untouched by --set


def test_phase_setting_of_a_later_layer_beats_lower_per_task_values(tmp_path):
    path = _write(tmp_path, {**MINIMAL, "target": {"batch_size": 2, "per_task": {"mlqa": {"batch_size": 3}}}})
    recipe = load_recipe(path)
    assert recipe.settings("target", "xquad")["batch_size"] == 2  # the default per-task 4 is overridden
    assert recipe.settings("target", "mlqa")["batch_size"] == 3  # the same layer's per-task value wins
    recipe = load_recipe(path, ["target.max_steps=3"])
    assert recipe.settings("target", "udpos")["max_steps"] == 3


def test_set_errors_name_the_key_and_set(tmp_path):
    path = _write(tmp_path, MINIMAL)
    with pytest.raises(UserError, match=r"--set: target\.lrr: unknown key"):
        load_recipe(path, ["target.lrr=1"])
    with pytest.raises(UserError, match=r"--set: target\.epochs: expected"):
        load_recipe(path, ["target.epochs=many"])
    with pytest.raises(UserError, match="KEY=VALUE"):
        parse_overrides(["seeds"])


def test_cli_lists_recipes_and_shows_one_resolved(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["recipes"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip()}
    assert set(lines) == set(bundled_recipes()) and all(len(line.split()) > 2 for line in lines.values())
    result = runner.invoke(app, ["recipes", "tiny", "--set", "seeds=[5]"])
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(result.stdout)["seeds"] == [5]
    result = runner.invoke(app, ["recipes", str(_write(tmp_path, {**MINIMAL, "oops": 1}))])
    assert result.exit_code == 2 and "oops" in result.output and "my-recipe.yaml" in result.output


def test_the_study_axes_example_in_recipes_readme_is_yaml_without_a_repeated_key():
    """A key given twice in one YAML block silently keeps the last one: the example must not do that."""
    import re
    from pathlib import Path

    class Strict(yaml.SafeLoader):
        pass

    def mapping(loader, node):
        keys = [loader.construct_object(k) for k, _ in node.value]
        repeated = {k for k in keys if keys.count(k) > 1}
        assert not repeated, f"repeated keys {repeated} at line {node.start_mark.line + 1}"
        return loader.construct_mapping(node)

    Strict.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    text = (Path(__file__).resolve().parents[1] / "recipes" / "README.md").read_text(encoding="utf-8")
    section = text.split("## Study axes", 1)[1]
    block = re.search(r"\n\n((?: {4}.*\n)+)", section).group(1)
    axes = yaml.load("\n".join(line[4:] for line in block.splitlines()), Loader=Strict)
    assert {"sizes", "orders", "mixes", "shots", "fewshot"} <= set(axes)
    assert ["mnli", "mix:en-de"] in axes["orders"] and ["mnli", "squad"] in axes["orders"]
