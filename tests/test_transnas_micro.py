"TransNAS-Bench-101 micro: real table (skipped without it) and CSV checks on tiny temporary files"
import numpy as np
import pytest
from nasloss_nb.core import DataCorruptError, NasLossError
from nasloss_nb.data import locate
from nasloss_nb.spaces.base import load_space
from nasloss_nb.spaces.transnas_micro import TASKS, parse_micro_str, read_tnb

def _have_data():
    try: locate("transnas-micro-val"); return True
    except NasLossError: return False

HEAD = "naslib_idx,naslib_op_indices,arch_str," + ",".join(TASKS) + "\n"
ROW = "{i},{ops},{s}," + ",".join(["1.0"] * 7) + "\n"

def test_read_tnb_checks(tmp_path):
    good = tmp_path / "good.csv"
    good.write_text(HEAD + ROW.format(i=0, ops="3 1 1 2 1 2", s="64-41414-3_11_212")
                    + ROW.format(i=1, ops="0 0 0 0 0 0", s="64-41414-0_00_000"))
    z = read_tnb(good, parse_micro_str)
    assert z["codes"].tolist() == [[3, 1, 1, 2, 1, 2], [0] * 6] and z["values"].shape == (2, 7)
    bad = tmp_path / "bad.csv"
    bad.write_text(HEAD + ROW.format(i=0, ops="3 1 1 2 1 1", s="64-41414-3_11_212"))
    with pytest.raises(DataCorruptError, match="disagree"): read_tnb(bad, parse_micro_str)
    order = tmp_path / "order.csv"
    order.write_text(HEAD + ROW.format(i=1, ops="3 1 1 2 1 2", s="64-41414-3_11_212"))
    with pytest.raises(DataCorruptError, match="naslib_idx order"): read_tnb(order, parse_micro_str)
    nan = tmp_path / "nan.csv"
    nan.write_text(HEAD + ROW.format(i=0, ops="3 1 1 2 1 2", s="64-41414-3_11_212").replace("1.0\n", "nan\n"))
    with pytest.raises(DataCorruptError, match="non-finite"): read_tnb(nan, parse_micro_str)

@pytest.mark.skipif(not _have_data(), reason="TransNAS micro CSV not found (set NASLOSS_DATA)")
def test_all_tasks(tmp_cache):
    for t in TASKS:
        s = load_space("transnas-micro", t)
        assert len(s) == 4096 and np.array_equal(s.val, s.test) and "no test metric" in s.metric_names["test"]
        assert (s.val < 0).all() == (t == "room_layout")
    adj, ops = s.graphs()
    assert adj.shape == (4096, 8, 8) and set(np.unique(ops)) == set(range(6))
