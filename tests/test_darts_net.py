"DARTS for real (issue 13): genotype I/O on the network, image files through the registry, fidelities, the result cache"
import dataclasses, gzip, json, os, pickle, shutil
from pathlib import Path
import numpy as np
import pytest
import torch
from nasloss_nb.core import CacheError, DataCorruptError, DataMissingError, UnknownNameError
from nasloss_nb import darts_net as dn
from nasloss_nb import darts_train as dt
from nasloss_nb.spaces.darts import sample_genotypes

DATA = Path(os.environ.get("NASLOSS_DATA", Path(__file__).parents[2] / "shared" / "data"))
needs_data = pytest.mark.skipif(not (DATA / "fashion-mnist").is_dir(), reason="needs the shared Fashion-MNIST files")
# a micro fidelity: a few seconds on one CPU thread (c=4, 3 cells, 256 training images)
MICRO = dt.Fidelity("micro", epochs=1, c=4, layers=3, batch_size=32, lr=0.05, train_subset=256, val_subset=128,
                    test_subset=128)


@pytest.fixture(autouse=True)
def one_thread():
    n = torch.get_num_threads(); torch.set_num_threads(1); yield; torch.set_num_threads(n)


def test_genotype_round_trips_and_networks():
    rng = np.random.default_rng(0)
    for a in sample_genotypes(20, rng):
        g = dn.from_arch(a)
        assert dn.to_arch(dn.parse_genotype_str(dn.genotype_str(g))) == a == dn.to_arch(g)
    net = dn.DartsNet(a, c=4, layers=4, in_channels=1)
    assert net(torch.randn(3, 1, 28, 28)).shape == (3, 10)
    assert [i for i, c in enumerate(net.cells) if c.reduction] == [1, 2]
    assert 0 < dn.params_m(net) < 0.1


@pytest.mark.parametrize("edit, message", [
    (lambda g: g._replace(normal=g.normal[:-1]), "node 3 has one input"),
    (lambda g: g._replace(reduce=[("conv_9x9", 0)] + g.reduce[1:]), "unknown op 'conv_9x9'"),
    (lambda g: g._replace(normal=g.normal[:4] + [("sep_conv_3x3", 4)] + g.normal[5:]), "node 2: input 4 does not exist"),
    (lambda g: g._replace(normal_concat=[2, 3, 4]), "normal_concat=[2, 3, 4]"),
])
def test_invalid_genotypes_name_the_part(edit, message):
    g = dn.from_arch(sample_genotypes(1, np.random.default_rng(1))[0])
    with pytest.raises(dn.GenotypeError, match=message.replace("[", r"\[").replace("]", r"\]")):
        dn.DartsNet(edit(g))


def copy_fmnist(dst: Path) -> Path:
    (dst / "fashion-mnist").mkdir(parents=True)
    for f in (DATA / "fashion-mnist").glob("*.gz"): shutil.copy(f, dst / "fashion-mnist" / f.name)
    return dst / "fashion-mnist"


@needs_data
def test_missing_and_truncated_image_files(tmp_path, tmp_cache):
    folder = copy_fmnist(tmp_path / "root")
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataMissingError, match="t10k-labels-idx1-ubyte.gz.*dataset-fashion-mnist"):
        dt.load_images("fashion-mnist", root=tmp_path / "root")
    raw = (DATA / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz").read_bytes()
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataCorruptError, match="t10k-labels-idx1-ubyte.gz"):
        dt.load_images("fashion-mnist", root=tmp_path / "root")
    assert not list(tmp_cache.glob("fashion-mnist*.npz"))          # nothing cached from a bad file


def fake_cifar(folder: Path, n: int = 8):
    rng = np.random.default_rng(0); folder.mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        with open(folder / name, "wb") as f:
            pickle.dump({b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"labels": rng.integers(0, 10, n).tolist()}, f)


def test_cifar_reader_and_registry_check(tmp_path, tmp_cache):
    fake_cifar(tmp_path / "cifar10" / "cifar-10-batches-py")
    z = dt.read_cifar10(tmp_path / "cifar10" / "cifar-10-batches-py")
    assert z["train_x"].shape == (40, 3, 32, 32) and z["test_x"].dtype == np.uint8 and z["train_y"].shape == (40,)
    with pytest.raises(DataCorruptError, match="data_batch_1: md5 .* is not the official"):   # synthetic != official
        dt.load_images("cifar10", root=tmp_path)


@needs_data
def test_train_genotype_cache_and_refusals(tmp_cache):
    a = sample_genotypes(1, np.random.default_rng(2))[0]
    r = dt.train_genotype(a, fidelity=MICRO, seed=0)
    assert not r["cached"] and 0 <= r["val"] <= 100 and r["params_m"] > 0 and r["seconds"] > 0
    assert len(r["loss_curve"]) == 8 and np.isfinite(r["loss_curve"]).all()
    again = dt.train_genotype(dn.genotype_str(dn.from_arch(a)), fidelity=MICRO, seed=0)   # same genotype as text
    assert again["cached"] and again["val"] == r["val"] and again["test"] == r["test"]
    files = list((tmp_cache / "darts-train").rglob("*.json"))
    assert len(files) == 1 and json.loads(files[0].read_text())["fidelity"]["name"] == "micro"
    with pytest.raises(CacheError, match="another fidelity.*epochs"):
        dt.train_genotype(a, fidelity=dataclasses.replace(MICRO, epochs=2), seed=0)
    with pytest.raises(UnknownNameError, match="valid: smoke, cpu, paper"): dt.train_genotype(a, fidelity="tiny")


@needs_data
def test_interrupted_training_writes_nothing(tmp_cache):
    a = sample_genotypes(1, np.random.default_rng(3))[0]
    def stop(info): raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt): dt.train_genotype(a, fidelity=MICRO, seed=0, progress=stop)
    assert not list(tmp_cache.rglob("*.json")) and not list(tmp_cache.rglob("*.tmp"))
    r = dt.train_genotype(a, fidelity=MICRO, seed=0)
    assert not r["cached"] and len(list((tmp_cache / "darts-train").rglob("*.json"))) == 1


@needs_data
def test_same_seed_same_result(tmp_cache):
    a = sample_genotypes(1, np.random.default_rng(4))[0]
    r1 = dt.train_genotype(a, fidelity=MICRO, seed=5, cache=False)
    r2 = dt.train_genotype(a, fidelity=MICRO, seed=5, cache=False)
    # same initial weights and batch order; CPU kernels differ in the last bits with memory alignment
    # (see darts_train, "Reproducibility"), which 8 steps amplify to about 0.3 % of the loss
    np.testing.assert_allclose(r1["loss_curve"], r2["loss_curve"], rtol=2e-2)
    assert r1["params_m"] == r2["params_m"]


@needs_data
def test_run_search_trains_and_resumes_from_the_cache(tmp_cache):
    from nasloss_nb.darts_space import trained_darts
    from nasloss_nb.core import InvalidParameterError
    from nasloss_nb.search import run_search
    kw = dict(n_init=2, k=2, n_candidates=10, epochs=10, loss_kwargs={"switch_at": 2})
    sp = trained_darts(MICRO, pool=100)
    h = run_search(sp, None, "pw", budget=4, seed=0, **kw)
    assert len(h) == 4 and h["val"].between(0, 100).all() and len(sp.results) == 4
    assert len(sp._rows) > 100                                     # mutations grew the table beyond the pool
    assert not any(r["cached"] for r in sp.results.values())
    again = trained_darts(MICRO, pool=100)                         # a fresh process would see the same: all cached
    h2 = run_search(again, None, "pw", budget=4, seed=0, **kw)
    assert all(r["cached"] for r in again.results.values())
    assert h2["arch"].tolist() == h["arch"].tolist() and h2["val"].tolist() == h["val"].tolist()
    with pytest.raises(InvalidParameterError, match="budget=101 is more than the 100"):
        run_search(again, None, "random", budget=101, seed=0)


def test_cifar_path_trains_with_crop_flip(tmp_path, tmp_cache, monkeypatch):
    "CIFAR-10 from a batches folder through the registry (MD5s of the fake files patched in), 3 channels, augmentation"
    import hashlib
    from nasloss_nb.data import registry
    folder = tmp_path / "cifar10" / "cifar-10-batches-py"
    fake_cifar(folder, n=64)
    for name in dt.CIFAR_FILES:
        f = folder / registry()[name]["path"].rsplit("/", 1)[1]
        monkeypatch.setitem(registry()[name], "md5", hashlib.md5(f.read_bytes()).hexdigest())
    z = dt.load_images("cifar10", root=tmp_path)
    assert z["train_x"].shape == (320, 3, 32, 32)
    fid = dataclasses.replace(MICRO, name="micro-c10", dataset="cifar10", val_fraction=0.5, augment="crop-flip",
                              train_subset=64, val_subset=32, test_subset=32)
    r = dt.train_genotype(sample_genotypes(1, np.random.default_rng(5))[0], fidelity=fid, root=tmp_path)
    assert r["dataset"] == "cifar10" and np.isfinite(r["loss_curve"]).all() and 0 <= r["test"] <= 100
