"""Defaults that learn: each method's default learning rate comes from its literature, and a short
LoRA run on the bundled sample with the default settings (no --lr) lowers the training loss."""
import numpy as np
import pytest
from conftest import logged_losses, small_train_config

from adapterstilts.methods import get_method


def test_default_learning_rates_come_from_each_methods_literature():
    from adapterstilts.config.train import TrainConfig

    assert get_method("lora").default_lr == 3e-4  # LoRA paper, RoBERTa-large GLUE (MNLI, QQP)
    assert get_method("bottleneck").default_lr == 1e-4  # adapters (Pfeiffer et al. / Poth et al. 2021)
    assert get_method("full").default_lr == 1e-5  # jiant's X-STILTs setting
    help_text = TrainConfig.__dataclass_fields__["lr"].metadata["help"]
    for fact in ("lora 3e-4", "LoRA paper", "bottleneck 1e-4", "full 1e-5"):
        assert fact in help_text


@pytest.mark.parametrize("method", ["lora"])
def test_default_lr_run_lowers_the_loss(tiny_model_dir, learnable_mnli_dir, tmp_path, method):
    """MNLI-schema data whose first hypothesis word decides the label (the bundled MNLI rows are not
    learnable by a random tiny encoder in a few steps, at any learning rate)."""
    from adapterstilts.training.pipeline import train

    config = small_train_config(tiny_model_dir, tmp_path / "run", method=method, lr=None, max_steps=80,
                                batch_size=8, data=str(learnable_mnli_dir))
    run = train(config, log=lambda *_: None)
    assert run.manifest["hyperparameters"]["lr"] == get_method(method).default_lr
    losses = logged_losses(run.path)
    assert len(losses) == 80
    first, last = float(np.mean(losses[:8])), float(np.mean(losses[-8:]))
    assert last < first - 0.015, (first, last, losses)  # the tiny random encoder learns slowly
