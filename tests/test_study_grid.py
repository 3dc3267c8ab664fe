"Every loss x every predictor trains for an epoch on the toy space, alone and with seeds batched, and gives valid metrics"
import math
import pytest
from nasloss_nb.losses import LOSSES
from nasloss_nb.predictors import PREDICTORS
from nasloss_nb.study import run_trial, run_trials


@pytest.mark.parametrize("predictor", sorted(PREDICTORS))
@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_every_loss_with_every_predictor(loss, predictor):
    alone = run_trial("toy", loss, predictor, n_train=12, seed=0, epochs=2)
    together = run_trials("toy", loss, predictor, n_train=12, seeds=[0, 1], epochs=2)
    for r in [alone, *together]:
        assert -1 <= r["kendall_tau"] <= 1 or math.isnan(r["kendall_tau"])
        assert 0 <= r["precision@10"] <= 1 and 1 <= r["n@5"] <= 27
        assert math.isfinite(r["final_train_loss"])
    assert [r["seed"] for r in together] == [0, 1] and together[0]["batched"] == 2
