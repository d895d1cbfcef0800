"""TextLineDataset and experimental.CsvDataset on small files the tests write."""
import gzip
import zlib

import numpy as np
import pytest

import tomei as tf


def test_text_lines_without_line_endings(tmp_path):
    p = tmp_path / "t.txt"
    p.write_bytes(b"Line 1\nLine 2\r\nLine 3\n  ")
    ds = tf.data.TextLineDataset(str(p))
    assert list(ds.as_numpy_iterator()) == [b"Line 1", b"Line 2", b"Line 3", b"  "]
    assert [str(t) for t in ds.batch(2)] == [
        "tf.Tensor([b'Line 1' b'Line 2'], shape=(2,), dtype=string)",
        "tf.Tensor([b'Line 3' b'  '], shape=(2,), dtype=string)"]


def test_text_lines_compressed_and_several_files(tmp_path):
    a, b = tmp_path / "a.gz", tmp_path / "b.z"
    a.write_bytes(gzip.compress(b"x\ny\n"))
    b.write_bytes(zlib.compress(b"z\n"))
    assert list(tf.data.TextLineDataset(str(a), compression_type="GZIP")
                .as_numpy_iterator()) == [b"x", b"y"]
    assert list(tf.data.TextLineDataset(str(b), compression_type="ZLIB")
                .as_numpy_iterator()) == [b"z"]
    with pytest.raises(NotImplementedError, match="num_parallel_reads"):
        tf.data.TextLineDataset([str(a), str(a)], num_parallel_reads=4)
    with pytest.raises(FileNotFoundError):
        tf.data.TextLineDataset(str(tmp_path / "missing.txt"))


def test_csv_types_defaults_and_packing(tmp_path):
    p = tmp_path / "d.csv.gz"
    p.write_bytes(gzip.compress(b"1.5,2,abc\n,7,\n3.25,-1,\"q,r\"\n"))
    ds = tf.data.experimental.CsvDataset(str(p), [float(), tf.int32, "dflt"],
                                         compression_type="GZIP")
    got = list(ds.as_numpy_iterator())
    assert got[0] == (np.float32(1.5), np.int32(2), b"abc")
    assert got[1] == (np.float32(0.0), np.int32(7), b"dflt")  # empty fields take defaults
    assert got[2][2] == b"q,r" and got[0][0].dtype == np.float32 and got[0][1].dtype == np.int32

    def pack(*row):
        return tf.stack(row[:1], 1), row[1]
    features, labels = next(iter(ds.batch(3).map(pack)))
    assert features.shape == (3, 1) and labels.shape == (3,)


def test_csv_errors_name_line_and_column(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("h1,h2\n1,x\n")
    ds = tf.data.experimental.CsvDataset(str(p), [0.0, 0.0], header=True)
    with pytest.raises(ValueError, match="line 2: column 1 should be float32"):
        list(ds)
    required = tf.data.experimental.CsvDataset(str(p), [tf.float32, tf.float32], header=True,
                                               select_cols=[0, 1])
    with pytest.raises(ValueError, match="column 1 should be float32"):
        list(required)
    with pytest.raises(ValueError, match="expected 3 fields"):
        list(tf.data.experimental.CsvDataset(str(p), [0.0, 0.0, 0.0], header=True))
    with pytest.raises(ValueError, match="compression_type"):
        tf.data.experimental.CsvDataset(str(p), [0.0], compression_type="BZ2")
