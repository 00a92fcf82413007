"""`evaluate --task tatoeba --layer all`: every layer's score from one pass equals scoring that layer alone."""
from adapterstilts.evaluation.zero_shot import evaluate_run, format_layers
from conftest import quiet, small_train_config


def test_every_layer_in_one_pass_equals_each_layer_alone(tiny_model_dir, tmp_path):
    from adapterstilts.training.pipeline import train

    run = train(small_train_config(tiny_model_dir, tmp_path / "r", max_steps=2, lr=3e-2), log=quiet)
    every = evaluate_run(run.path, task_name="tatoeba", data="sample", languages="de,ru", layer="all", log=quiet)
    table = every["by_layer"]
    assert sorted(table) == list(range(0, 5))  # 4 layers + the embeddings
    for layer in (1, 4):
        alone = evaluate_run(run.path, task_name="tatoeba", data="sample", languages="de,ru", layer=layer, log=quiet)
        assert {k: v for k, v in table[layer].items() if k != "average"} == {
            lang: scores["accuracy"] for lang, scores in alone["languages"].items()}
    assert every["layer"] == 2 and every["languages"]["de"]["accuracy"] == table[2]["de"]  # the default, 14/24 scaled
    assert "* = the layer of the table above" in format_layers(every)
