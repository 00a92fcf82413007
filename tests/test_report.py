"""The results store and the paper-style report: numbers equal what was stored (expected values
computed by hand below), deltas against the baseline, mean and std over seeds, the QA convention,
per-language tables, the formats and the heatmap."""
import csv
import io
import math
import sqlite3

import pytest
from typer.testing import CliRunner

from adapterstilts.cli import app
from adapterstilts.errors import UserError
from adapterstilts.analysis.tables import AVERAGE, build_tables, language_tables, make_report, to_csv
from adapterstilts.experiments.store import ResultsStore, cell_key, rows_from_result

# (intermediate, target, seed) -> {language: {metric: value}}
SCORES = {
    ("none", "xnli", 1): {"en": {"accuracy": 80.0}, "de": {"accuracy": 70.0}},  # 75
    ("none", "xnli", 2): {"en": {"accuracy": 82.0}, "de": {"accuracy": 72.0}},  # 77
    ("none", "xquad", 1): {"en": {"f1": 70.0, "exact_match": 50.0}, "de": {"f1": 60.0, "exact_match": 40.0}},  # f1 65, em 45
    ("none", "xquad", 2): {"en": {"f1": 72.0, "exact_match": 52.0}, "de": {"f1": 62.0, "exact_match": 42.0}},  # f1 67, em 47
    ("mnli", "xnli", 1): {"en": {"accuracy": 84.0}, "de": {"accuracy": 76.0}},  # 80
    ("mnli", "xnli", 2): {"en": {"accuracy": 86.0}, "de": {"accuracy": 78.0}},  # 82
    ("mnli", "xquad", 1): {"en": {"f1": 71.0, "exact_match": 51.0}, "de": {"f1": 61.0, "exact_match": 41.0}},  # f1 66
    ("mnli", "xquad", 2): {"en": {"f1": 69.0, "exact_match": 49.0}, "de": {"f1": 59.0, "exact_match": 39.0}},  # f1 64
    ("squad", "xquad", 1): {"en": {"f1": 80.0, "exact_match": 60.0}, "de": {"f1": 70.0, "exact_match": 50.0}},  # f1 75
}


def _fill(path, recipe="r", scores=SCORES, method="lora", compose="stack"):
    store = ResultsStore(path)
    for (inter, target, seed), langs in scores.items():
        result = {"languages": {lang: {**s, "layer": 14} for lang, s in langs.items()}}
        rows = rows_from_result(result, recipe=recipe, intermediate=inter, method=method,
                                compose="none" if inter == "none" else compose, target=target, seed=seed, run=None)
        store.replace_cell(recipe, cell_key(inter, target, seed), rows)
    return store


def test_store_is_tidy_and_a_cell_rewrite_replaces_its_rows(tmp_path):
    store = _fill(tmp_path / "results.sqlite")
    rows = store.rows()
    assert len(rows) == 2 * (4 + 4 * 2 + 1 * 2)  # xnli: 1 metric, xquad: 2 (the "layer" number is no score)
    assert {r["metric"] for r in rows} == {"accuracy", "f1", "exact_match"}
    key = cell_key("mnli", "xnli", 1)
    rows_again = rows_from_result({"languages": {"en": {"accuracy": 99.0}}}, recipe="r", intermediate="mnli",
                                  method="lora", compose="stack", target="xnli", seed=1, run="somewhere")
    store.replace_cell("r", key, rows_again)
    store.replace_cell("r", key, rows_again)  # idempotent
    mine = [r for r in store.rows() if r["cell"] == key]
    assert [(r["language"], r["value"], r["run"]) for r in mine] == [("en", 99.0, "somewhere")]
    assert len(store.rows()) == len(rows) - 1
    with sqlite3.connect(tmp_path / "results.sqlite") as conn:  # plain SQL readers see the same table
        assert conn.execute("SELECT COUNT(*) FROM results").fetchone()[0] == len(rows) - 1


def test_table_numbers_equal_the_stored_rows(tmp_path):
    store = _fill(tmp_path / "results.sqlite")
    (table,) = build_tables(store.rows(), "f1")
    assert table.rows == ["none", "mnli", "squad"] and table.columns == ["xnli", "xquad", AVERAGE]
    cell = table.cells
    sqrt2 = math.sqrt(2)
    assert cell["none", "xnli"].mean == pytest.approx(76.0) and cell["none", "xnli"].std == pytest.approx(sqrt2)
    assert cell["none", "xquad"].mean == pytest.approx(66.0)
    assert cell["none", AVERAGE].mean == pytest.approx(71.0)  # seeds: (75+65)/2 = 70, (77+67)/2 = 72
    assert cell["none", AVERAGE].std == pytest.approx(sqrt2)
    assert cell["mnli", "xnli"].mean == pytest.approx(81.0) and cell["mnli", "xnli"].delta == pytest.approx(5.0)
    assert cell["mnli", "xquad"].mean == pytest.approx(65.0) and cell["mnli", "xquad"].delta == pytest.approx(-1.0)
    assert cell["mnli", AVERAGE].mean == pytest.approx(73.0) and cell["mnli", AVERAGE].delta == pytest.approx(2.0)
    assert cell["mnli", AVERAGE].std == pytest.approx(0.0)  # seeds: (80+66)/2 = 73, (82+64)/2 = 73
    # squad has one seed and only xquad: average over that target, delta against the baseline's xquad
    assert cell["squad", "xquad"].std is None and cell["squad", "xquad"].delta == pytest.approx(9.0)
    assert cell["squad", AVERAGE].partial and cell["squad", AVERAGE].delta == pytest.approx(9.0)
    assert ("squad", "xnli") not in cell
    assert "F1" in table.note and "2 seeds" in table.note

    (em,) = build_tables(store.rows(), "em_f1_mean")
    assert em.cells["none", "xquad"].mean == pytest.approx((66.0 + 46.0) / 2)
    assert em.cells["none", AVERAGE].mean == pytest.approx((76.0 + 56.0) / 2)
    assert "(EM + F1) / 2" in em.note


def test_markdown_csv_and_latex_show_the_same_numbers(tmp_path):
    _fill(tmp_path / "results.sqlite")
    markdown = make_report([tmp_path], fmt="markdown")
    assert "| baseline (none) | 76.0 ± 1.4 | 66.0 ± 1.4 | 71.0 ± 1.4 |" in markdown
    assert "| mnli | 81.0 ± 1.4 (+5.0) | 65.0 ± 1.4 (-1.0) | 73.0 ± 0.0 (+2.0) |" in markdown
    assert "| squad | - | 75.0 (+9.0) | 75.0* (+9.0) |" in markdown
    assert "XNLI" in markdown and "XQuAD" in markdown and "Avg" in markdown
    rows = list(csv.DictReader(io.StringIO(make_report([tmp_path], fmt="csv"))))
    by_name = {r["intermediate"]: r for r in rows}
    assert float(by_name["mnli"]["xnli"]) == pytest.approx(81.0)
    assert float(by_name["mnli"]["xnli_delta"]) == pytest.approx(5.0)
    assert float(by_name["none"]["average_std"]) == pytest.approx(math.sqrt(2), abs=1e-4)
    assert by_name["squad"]["xnli"] == ""
    latex = make_report([tmp_path], fmt="latex")
    assert "\\begin{tabular}" in latex and "81.0 $\\pm$ 1.4 {\\scriptsize(+5.0)}" in latex and "\\toprule" in latex


def test_per_language_tables(tmp_path):
    store = _fill(tmp_path / "results.sqlite")
    tables = {t.title: t for t in language_tables(store.rows(), "f1")}
    xnli = tables["r: XNLI per language"]
    assert xnli.columns == ["en", "de", AVERAGE]
    assert xnli.cells["none", "en"].mean == pytest.approx(81.0) and xnli.cells["none", "de"].mean == pytest.approx(71.0)
    assert xnli.cells["mnli", "de"].delta == pytest.approx(6.0)  # 77 - 71
    text = make_report([tmp_path], per_language=True)
    assert "### r: XQuAD per language" in text and "| en | de | Avg |" in text


def test_baseline_from_another_recipe_and_recipe_filter(tmp_path):
    _fill(tmp_path / "a" / "results.sqlite", recipe="baseline",
          scores={k: v for k, v in SCORES.items() if k[0] == "none"}, method="full", compose="none")
    _fill(tmp_path / "b" / "results.sqlite", recipe="lora",
          scores={k: v for k, v in SCORES.items() if k[0] != "none"})
    text = make_report([tmp_path], recipe="lora", baseline="baseline")
    assert "| mnli | 81.0 ± 1.4 (+5.0) |" in text and "baseline (none)" not in text
    with pytest.raises(UserError, match="no 'none'"):
        make_report([tmp_path], recipe="lora", baseline="lora")
    with pytest.raises(UserError, match="--recipe nope"):
        make_report([tmp_path], recipe="nope")


def test_heatmap_png_is_written(tmp_path):
    pytest.importorskip("matplotlib")
    _fill(tmp_path / "results.sqlite")
    out = tmp_path / "plots" / "heatmap.png"
    make_report([tmp_path], plot=out)
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000


def test_plot_needs_a_baseline_and_formats_are_checked(tmp_path):
    _fill(tmp_path / "results.sqlite", scores={k: v for k, v in SCORES.items() if k[0] != "none"})
    with pytest.raises(UserError, match="baseline"):
        make_report([tmp_path], plot=tmp_path / "h.png")
    with pytest.raises(UserError, match="--format"):
        make_report([tmp_path], fmt="html")
    with pytest.raises(UserError, match="qa-convention"):
        make_report([tmp_path], qa_convention="em")
    assert to_csv([]) == ""


def test_report_command(tmp_path):
    _fill(tmp_path / "results.sqlite")
    runner = CliRunner()
    result = runner.invoke(app, ["report", str(tmp_path / "results.sqlite"), "--qa-convention", "em_f1_mean"])
    assert result.exit_code == 0, result.output
    assert "| baseline (none) | 76.0 ± 1.4 | 56.0 ± 1.4 | 66.0 ± 1.4 |" in result.stdout
    result = runner.invoke(app, ["report", str(tmp_path / "missing")])
    assert result.exit_code == 2 and "no results store" in result.output


@pytest.mark.parametrize("recipe, marked", [
    ({"name": "r", "data": "sample", "evaluation": {"max_examples": None}}, "bundled sample data"),
    ({"name": "r", "data": "hub", "evaluation": {"max_examples": 8}}, "first 8 examples"),
    ({"name": "r", "data": "hub", "evaluation": {"max_examples": None}}, None),
    ({"name": "other", "data": "sample"}, None),  # the store's rows are of recipe "r": not this recipe's
])
def test_a_grid_on_samples_or_part_of_the_data_is_marked_partial(tmp_path, recipe, marked):
    import json

    from adapterstilts.analysis.tables import load_rows

    _fill(tmp_path / "results.sqlite")
    (tmp_path / "recipe.json").write_text(json.dumps(recipe))
    text = make_report([tmp_path])
    if marked:
        assert text.count("†") >= 7 and marked in text and "not comparable" in text  # every cell and the note
    else:
        assert "†" not in text and "76.0 ± 1.4" in text


def test_an_order_row_is_named_once():
    """A chained row is named by its order, not "mnli>squad, order mnli>squad"; other axes still show."""
    from adapterstilts.analysis.tables import by_axes

    rows = [{"recipe": "r", "intermediate": name, "target": "xnli", "axes": axes}
            for name, axes in [("mnli>squad", '{"order": "mnli>squad", "size": 8}'),
                               ("squad>mnli", '{"order": "squad>mnli", "size": null}'), ("none", '{"size": 8}')]]
    assert [r["intermediate"] for r in by_axes(rows)] == ["mnli>squad, size 8", "squad>mnli, size full", "none, size 8"]


def test_csv_of_several_tables_is_one_header(tmp_path):
    """A main table and per-language tables (other columns) in one CSV that csv / pandas read at once."""
    _fill(tmp_path / "results.sqlite")
    text = make_report([tmp_path], fmt="csv", per_language=True)
    assert "\n\n" not in text and text.count("recipe,method") == 1
    rows = list(csv.DictReader(io.StringIO(text)))
    main = {r["intermediate"]: r for r in rows if r["xnli"] != "" and r.get("de", "") == ""}
    assert float(main["mnli"]["xnli"]) == pytest.approx(81.0) and main["mnli"]["partial"] == "0"
    langs = [r for r in rows if r.get("de", "") != ""]
    assert langs and all(r["xnli"] == "" for r in langs)
