"""Hashes of files and of their decompressed content, read in bounded chunks; decompression
bombs stop one byte past the limit with memory bounded (measured)."""
import gzip
import hashlib
import zlib

import pytest

from memory_probe import peak_memory  # tests/memory_probe.py
from tomei.keras.utils.hashing import (
    ContentError,
    hash_check,
    hash_content,
    hash_file,
    read_content,
    validate_file,
)

DATA = bytes(range(256)) * 400  # 102,400 bytes
MB = 2**20


def gzip_bomb(path, size):
    """A gzip file of ``size`` zero bytes (about 1/1000 of that on disk), written streamed."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(MB)
    with open(path, "wb") as out:
        for _ in range(size // MB):
            out.write(compressor.compress(block))
        out.write(compressor.flush())
    return path


def test_content_hash_is_the_same_for_gzip_plain_and_recompressed_copies(tmp_path):
    plain = tmp_path / "a"
    plain.write_bytes(DATA)
    fast = tmp_path / "a.gz"
    fast.write_bytes(gzip.compress(DATA, compresslevel=1, mtime=0))
    best = tmp_path / "b.gz"
    best.write_bytes(gzip.compress(DATA, compresslevel=9, mtime=12345))  # another header too
    expected = (hashlib.sha256(DATA).hexdigest(), len(DATA))
    for path in (plain, fast, best):
        assert hash_content(path, len(DATA)) == expected
    assert hash_file(fast) != hash_file(best)  # the stored bytes differ


def test_content_longer_than_the_limit_is_refused(tmp_path):
    path = tmp_path / "a.gz"
    path.write_bytes(gzip.compress(DATA))
    with pytest.raises(ContentError, match=r"larger than the 1,000 bytes expected"):
        read_content(path, 1000)
    assert read_content(path, len(DATA)) == DATA


def test_truncated_gzip_is_a_content_error_naming_the_file(tmp_path):
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(DATA)[:200])
    with pytest.raises(ContentError, match=r"cut.gz: the gzip data is truncated or corrupt"):
        hash_content(path, len(DATA))


def test_gzip_bomb_stops_at_the_limit_with_bounded_memory(tmp_path):
    bomb = gzip_bomb(tmp_path / "bomb.gz", 1024 * MB)  # 1 GiB of zeros in about 1 MB
    assert bomb.stat().st_size < 2 * MB
    with peak_memory() as probe:
        with pytest.raises(ContentError, match="larger than the 47,040,016 bytes expected"):
            hash_content(bomb, 47_040_016)
    assert probe["peak"] < 200 * MB, f"{probe['peak'] / MB:.0f} MB ({probe['how']})"


def test_hash_check_and_validate_file(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(DATA)
    digest = hashlib.sha256(DATA).hexdigest()
    assert validate_file(path, digest) and validate_file(path, hashlib.md5(DATA).hexdigest())
    assert hash_check(digest).problem(path) is None
    assert "SHA-256 mismatch" in hash_check("0" * 64).problem(path)
    with pytest.raises(ValueError, match="64 hexadecimal characters"):
        hash_check("abc", "sha256")
