"BANANAS (`nasloss_nb.bananas`): the path encoding on the real cells, the ensemble on NB201, and the search method"
import os
import numpy as np
import pytest
from nasloss_nb.bananas import (BANANAS_DEFAULTS, check_bananas, ensemble_scores, fit_ensemble, path_encoding,
                                path_len, path_vocabulary)
from nasloss_nb.metrics import kendall_tau
from nasloss_nb.spaces.base import load_space

DATA = os.environ.get("NASLOSS_DATA")
needs_data = pytest.mark.skipif(not DATA, reason="needs NASLOSS_DATA")


@needs_data
@pytest.mark.parametrize("name, full, lengths, auto", [
    ("nb201", 155, [0, 5, 25, 125], 30),           # paper / authors' code: 155 paths, truncated to the first 30
    ("nb101", 364, [1, 3, 9, 27, 81, 243], 40),    # 3^0 + ... + 3^5 = 364, truncated to the first 40
    ("transnas-micro", 84, [0, 4, 16, 64], 20),    # NB201's cell with 4 ops
])
def test_path_vocabulary_sizes(name, full, lengths, auto):
    sp = load_space(name)
    voc = path_vocabulary(sp)
    assert len(voc) == full and [sum(len(p) == n for p in voc) for n in range(len(lengths))] == lengths
    assert voc == sorted(voc, key=lambda p: (len(p), p))                       # deterministic order: shortest first
    enc = path_encoding(sp, path_len(sp, "auto"))
    assert tuple(enc.shape) == (len(sp), auto) and set(enc.unique().tolist()) <= {0.0, 1.0}
    assert (enc.sum(1) >= 1).all() if name != "nb101" else True


@needs_data
def test_nb201_paths_by_hand():
    "NB201 |3x3~0|+|3x3~0|pool~1|+|skip~0|3x3~1|skip~2|: four paths, two of them (3x3, 3x3)"
    sp = load_space("nb201")
    t = list(sp.node_types)
    row = 1                                                                    # the cell printed in the docstring
    assert sp.arch_str(tuple(sp.codes[row].tolist())) == "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
    c, p, s = t.index("nor_conv_3x3"), t.index("avg_pool_3x3"), t.index("skip_connect")
    voc = path_vocabulary(sp)
    got = {voc[i] for i in path_encoding(sp)[row].nonzero().flatten().tolist()}
    assert got == {(s,), (c, c), (c, s), (c, p, s)}                       # 0->3 skip; 0->1->3; 0->2->3; 0->1->2->3


@needs_data
def test_ensemble_ranks_unseen_nb201_cells():
    sp = load_space("nb201")
    rng = np.random.default_rng(0)
    rows = rng.choice(len(sp), 300, replace=False)
    train, test = rows[:100], rows[100:]
    models = fit_ensemble(sp, train[None], sp.val[train][None] / 100, [0], check_bananas(None))[0]
    mean, std = ensemble_scores(models, sp, test)
    assert kendall_tau(sp.val[test], mean) > 0.4 and (std > 0).all()
