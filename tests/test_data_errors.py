"Bad data and bad names through the public entry point `load_space`: each gets a clear error and no cache is written"
import os, shutil, subprocess, sys
from pathlib import Path
import numpy as np
import pytest
from nasloss_nb.core import DataCorruptError, DataMissingError, NasLossError, UnknownNameError, sha256_file
from nasloss_nb.data import locate, registry
from nasloss_nb.spaces.base import load_space

# (space, task, registry file that the space reads)
FILE_SPACES = [("nb201", "cifar10", "nb201-test-200ep"), ("nb101", None, "nb101-subset-30k"),
               ("transnas-micro", "jigsaw", "transnas-micro-val"), ("transnas-macro", "room_layout", "transnas-macro-val"),
               ("darts", None, "nb301-zc-725")]


def _have(name):
    try: locate(name); return True
    except NasLossError: return False


def _copy_sources(space, task, dst):
    "Copy every registered file the space reads into a fresh data root"
    for name, e in registry().items():
        if e["path"].startswith("pkg:") or not _have(name): continue
        if e["converter"].rsplit(".", 1)[-1] == space.replace("-", "_"):
            (dst / e["path"]).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(locate(name), dst / e["path"])


def _flip_byte(p: Path, at: int = 1000):
    os.chmod(p, 0o644)
    b = bytearray(p.read_bytes()); b[at] ^= 0x01; p.write_bytes(bytes(b))


@pytest.mark.parametrize("space,task,fname", FILE_SPACES)
def test_missing_file_names_file_and_place(space, task, fname, tmp_path, tmp_cache):
    with pytest.raises(DataMissingError) as e:
        load_space(space, task, root=tmp_path)
    msg = str(e.value)
    assert str(tmp_path) in msg and "not found" in msg


@pytest.mark.parametrize("space,task,fname", FILE_SPACES)
def test_flipped_byte_is_a_checksum_error_and_writes_no_cache(space, task, fname, tmp_path, tmp_cache):
    if not _have(fname): pytest.skip("benchmark data not found (set NASLOSS_DATA)")
    root = tmp_path / "data"; _copy_sources(space, task, root)
    _flip_byte(root / registry()[fname]["path"])
    with pytest.raises(DataCorruptError, match="checksum mismatch"):
        load_space(space, task, root=root)
    assert not list(tmp_cache.glob("*.npz"))


def test_flipped_byte_in_packaged_nbgraph_table(tmp_path, tmp_cache, monkeypatch):
    root = tmp_path / "data"; (root / "nbgraph").mkdir(parents=True)
    shutil.copy(locate("nbgraph-cora"), root / "nbgraph" / "cora.bench")
    _flip_byte(root / "nbgraph" / "cora.bench", at=5000)
    monkeypatch.setitem(registry()["nbgraph-cora"], "path", "nbgraph/cora.bench")
    with pytest.raises(DataCorruptError, match="checksum mismatch"):
        load_space("nbgraph", "cora", root=root)
    assert not list(tmp_cache.glob("*.npz"))


@pytest.mark.parametrize("space,task,fname,column", [
    ("transnas-micro", "jigsaw", "transnas-micro-val", "jigsaw"),
    ("nb201", "cifar100", "nb201-12ep", "cifar100-val")])
def test_nan_in_a_registered_table(space, task, fname, column, tmp_path, tmp_cache, monkeypatch):
    "A file that passes its checksum (here: re-registered) but holds a NaN is rejected, naming the row"
    if not _have(fname): pytest.skip("benchmark data not found (set NASLOSS_DATA)")
    import pandas as pd
    root = tmp_path / "data"; _copy_sources(space, task, root)
    p = root / registry()[fname]["path"]; os.chmod(p, 0o644)
    df = pd.read_csv(p); df.loc[7, column] = np.nan; df.to_csv(p, index=False)
    monkeypatch.setitem(registry()[fname], "sha256", sha256_file(p))
    with pytest.raises(DataCorruptError, match="non-finite"):
        load_space(space, task, root=root)
    assert not list(tmp_cache.glob("*.npz"))


def test_unknown_names_list_valid_ones():
    with pytest.raises(UnknownNameError, match="valid: darts, darts-trained, nb101, nb201, nbgraph, table, toy, trained, transnas-macro, transnas-micro"):
        load_space("nb301")
    with pytest.raises(UnknownNameError, match="valid: cifar10, cifar100, imagenet16-120"):
        load_space("nb201", "imagenet")
    with pytest.raises(UnknownNameError, match="cora"):
        load_space("nbgraph", "Cora")


def test_no_data_root_says_how_to_set_it(monkeypatch, tmp_cache):
    monkeypatch.delenv("NASLOSS_DATA", raising=False)
    with pytest.raises(DataMissingError, match="NASLOSS_DATA"):
        load_space("nb201")


def _cli(*args, env=None):
    exe = Path(sys.executable).parent / "nasloss"
    return subprocess.run([str(exe), *args], capture_output=True, text=True, env=env, timeout=120)


def test_cli_embedded_default_needs_no_data_root(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "NASLOSS_DATA"}
    env["NASLOSS_CACHE"] = str(tmp_path / "cache")
    r = _cli("spaces", "--space", "nbgraph", "--task", "cora", env=env)
    assert r.returncode == 0, r.stderr
    assert "26206" in r.stdout and "0.8313" in r.stdout


def test_cli_nb201_and_bad_input():
    if not _have("nb201-test-200ep"): pytest.skip("benchmark data not found (set NASLOSS_DATA)")
    r = _cli("spaces", "--space", "nb201", "--task", "cifar10")
    assert r.returncode == 0 and "15625" in r.stdout and "94.3733" in r.stdout
    r = _cli("spaces", "--space", "nb201", "--task", "cifar10", "--root", "/nonexistent")
    assert r.returncode == 2 and "nonexistent" in r.stderr and "Traceback" not in r.stderr
