"""NAS-Bench-101: the TensorFlow-free tfrecord reader on a small file written here in the official format."""
import base64, json, struct, warnings
from pathlib import Path

import numpy as np
import pytest

from nasloss_nb.core import DataCorruptError
from nasloss_nb.spaces import nb101
from nasloss_nb.spaces.base import load_space


# --- an independent writer of the official format ------------------------------------------------
def crc32c_bitwise(data: bytes) -> int:
    "CRC32C bit by bit (no table), independent of the library's version"
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8): crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF

def masked(data: bytes) -> bytes:
    crc = crc32c_bitwise(data)
    return struct.pack("<I", (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF)

def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0)); n >>= 7
        if not n: return bytes(out)

def field(num: int, wire: int, payload: bytes) -> bytes:
    return varint(num << 3 | wire) + (varint(len(payload)) + payload if wire == 2 else payload)

def evaluation(epoch, train_time, train_acc, val_acc, test_acc, ckpt) -> bytes:
    doubles = [field(i, 1, struct.pack("<d", x)) for i, x in enumerate([epoch, train_time, train_acc, val_acc, test_acc], 1)]
    return b"".join(doubles) + field(6, 2, ckpt.encode())

def model_metrics(evals: list[bytes], params: int, total_time: float) -> bytes:
    return b"".join(field(1, 2, e) for e in evals) + field(2, 0, varint(params)) + field(3, 1, struct.pack("<d", total_time))

def frame(data: bytes) -> bytes:
    n = struct.pack("<Q", len(data))
    return n + masked(n) + data + masked(data)

def record(matrix, ops, epochs, val, test, params=1234567) -> bytes:
    adj = np.asarray(matrix)
    half = evaluation(epochs / 2, 10.0, 0.5, val - 0.1, test - 0.1, "halfway")
    final = evaluation(float(epochs), 20.0, 1.0, val, test, "final")
    pruned = nb101.prune(adj, ops)
    raw = base64.b64encode(model_metrics([half, final], params, 21.5)).decode()
    return json.dumps([nb101.spec_hash(*pruned), epochs, "".join(map(str, adj.ravel().tolist())), ",".join(ops), raw]).encode()

CHAIN = ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "conv3x3-bn-relu", "output"])
DIAMOND = ([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], ["input", "conv1x1-bn-relu", "maxpool3x3", "output"])
DIAMOND_SWAPPED = ([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], ["input", "maxpool3x3", "conv1x1-bn-relu", "output"])
DANGLING = ([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]], ["input", "maxpool3x3", "conv3x3-bn-relu", "output"])  # 2 is a dead end

@pytest.fixture
def tfrecord_root(tmp_path, monkeypatch):
    "A data root holding nasbench101/nasbench_only108.tfrecord with 3 cells (3 runs each) and one 4-epoch record"
    monkeypatch.setenv("NASLOSS_CACHE", str(tmp_path / "cache"))
    recs = [record(*CHAIN, 108, v, t) for v, t in [(0.80, 0.79), (0.82, 0.81), (0.84, 0.83)]]
    recs += [record(*DIAMOND, 108, v, t) for v, t in [(0.90, 0.89), (0.91, 0.90), (0.92, 0.91)]]
    recs += [record(*DANGLING, 108, v, t) for v, t in [(0.70, 0.69), (0.71, 0.70), (0.72, 0.71)]]
    recs += [record(*DIAMOND, 4, 0.30, 0.29)]
    p = tmp_path / "data" / "nasbench101" / "nasbench_only108.tfrecord"
    p.parent.mkdir(parents=True)
    p.write_bytes(b"".join(frame(r) for r in recs))
    return tmp_path / "data", p

def test_crc32c():
    for data in [b"", b"123456789", bytes(range(256))]:
        assert nb101.crc32c_py(data) == crc32c_bitwise(data)
        assert struct.pack("<I", nb101.masked_crc32c(data)) == masked(data)

def test_reader_records(tfrecord_root):
    _, path = tfrecord_root
    recs = [nb101.parse_record(r) for r in nb101.read_tfrecord(path)]
    assert len(recs) == 10 and [r["epochs"] for r in recs].count(4) == 1
    r = recs[3]
    assert r["ops"] == DIAMOND[1] and r["adjacency"].tolist() == DIAMOND[0]
    assert r["trainable_parameters"] == 1234567 and r["total_time"] == pytest.approx(21.5)
    assert [e["checkpoint_path"] for e in r["evaluations"]] == ["halfway", "final"]
    assert r["evaluations"][-1]["validation_accuracy"] == pytest.approx(0.90)
    assert r["evaluations"][-1]["test_accuracy"] == pytest.approx(0.89)

def test_load_tfrecord(tfrecord_root):
    root, _ = tfrecord_root
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the registry records no checksum for the official file
        space = load_space("nb101", root=root, source="tfrecord")
    assert len(space) == 3
    np.testing.assert_allclose(space.query([nb101.from_spec(*CHAIN)]), [82.0])
    np.testing.assert_allclose(space.query([nb101.from_spec(*DIAMOND)], "test"), [90.0])
    np.testing.assert_allclose(space.query([nb101.from_spec(*DIAMOND_SWAPPED)]), [91.0])  # isomorphic: same row
    np.testing.assert_allclose(space.query([nb101.from_spec(*DANGLING)]), [71.0])         # pruned to a chain
    for a, h in zip(space, space.hashes):
        assert nb101.arch_hash(a) == h
    assert "test accuracy" in space.metric_names["test"]

@pytest.mark.parametrize("where", ["length_crc", "data", "data_crc", "truncated"])
def test_corrupt_tfrecord(tfrecord_root, where):
    root, path = tfrecord_root
    b = bytearray(path.read_bytes())
    n = struct.unpack("<Q", b[:8])[0]
    if where == "truncated": b = b[:-3]
    else: b[{"length_crc": 9, "data": 12 + n // 2, "data_crc": 12 + n + 1}[where]] ^= 0x01
    path.write_bytes(bytes(b))
    with pytest.raises(DataCorruptError):
        list(nb101.read_tfrecord(path))
    with warnings.catch_warnings(), pytest.raises(DataCorruptError):
        warnings.simplefilter("ignore")
        load_space("nb101", root=root, source="tfrecord")

def test_bad_protobuf():
    with pytest.raises(DataCorruptError):
        nb101.decode_model_metrics(b"\x0a\x05\x09")  # an EvaluationData that claims 5 bytes, has 1
    with pytest.raises(DataCorruptError):
        nb101.parse_record(b'["abc", 108, "0100", "input,output"]')  # 4 fields, not 5
