"""File readers of ``tf.data``: ``TextLineDataset`` and ``experimental.CsvDataset``.

Both read lazily, one file after another, each time the dataset is iterated; both accept
``compression_type`` '' / None (plain), 'GZIP' or 'ZLIB'. Their length is unknown until read
(cardinality UNKNOWN), as in TensorFlow. Source: the TensorFlow API documentation of
``tf.data.TextLineDataset`` and ``tf.data.experimental.CsvDataset`` (r2.21).
"""
from __future__ import annotations

import csv
import gzip
import io
import os
import zlib

import numpy as np

from tomei.data.dataset import UNKNOWN, Dataset
from tomei.engine.tensor import Tensor


def _filenames(filenames) -> list:
    """A list of path strings from a path, a list of them, or a string Tensor."""
    if isinstance(filenames, Tensor):
        filenames = filenames.numpy()
    if isinstance(filenames, (str, bytes, os.PathLike)):
        filenames = [filenames]
    names = []
    for f in np.atleast_1d(np.asarray(filenames, dtype=object)).tolist():
        names.append(f.decode("utf-8") if isinstance(f, bytes) else os.fspath(f))
    if not names:
        raise ValueError("No file names given: expected a path or a list of paths.")
    return names


def _open_text(path, compression_type):
    """The file's bytes as a binary stream, decompressed as asked."""
    kind = (compression_type or "").upper()
    if kind not in ("", "GZIP", "ZLIB"):
        raise ValueError(f"compression_type must be '', 'GZIP' or 'ZLIB'; received "
                         f"compression_type={compression_type!r}.")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file (tf.data reader).")
    if kind == "GZIP":
        return gzip.open(path, "rb")
    if kind == "ZLIB":
        with open(path, "rb") as f:
            return io.BytesIO(zlib.decompress(f.read()))
    return open(path, "rb")


def _check_parallel_reads(num_parallel_reads, names, who):
    if num_parallel_reads not in (None, 1) and len(names) > 1:
        raise NotImplementedError(
            f"{who}(num_parallel_reads={num_parallel_reads}) with several files: TensorFlow "
            f"then interleaves lines of the files; tomei reads files one after another. Use "
            f"num_parallel_reads=None.")


def _lines(path, compression_type):
    with _open_text(path, compression_type) as f:
        for line in f:
            yield line.rstrip(b"\n").rstrip(b"\r")


class TextLineDataset(Dataset):
    """One element per line of the text file(s): a 0-d string (bytes) Tensor, without the
    line ending ("\\n" or "\\r\\n").

    Args:
        filenames: a path, a list of paths, or a string Tensor of paths (read in order).
        compression_type: None/'' (plain), 'GZIP' or 'ZLIB'.
        buffer_size: TensorFlow's read-buffer size in bytes; a speed hint only.
        num_parallel_reads: None or 1 (files are read in order).
    Raises:
        ValueError: unknown compression type. FileNotFoundError: when iterated, a missing
        file. NotImplementedError: num_parallel_reads > 1 with several files.
    """

    def __init__(self, filenames, compression_type=None, buffer_size=None,
                 num_parallel_reads=None, name=None):
        names = _filenames(filenames)
        _check_parallel_reads(num_parallel_reads, names, "TextLineDataset")
        _open_text(names[0], compression_type).close()  # fail now on a bad path or type

        def items():
            for path in names:
                for line in _lines(path, compression_type):
                    yield np.array(line)
        super().__init__(items, UNKNOWN, name=name)


def _record_default(value, column):
    """(dtype, default or None when the field is required) for one ``record_defaults`` entry.

    An entry is a value (its type gives the dtype: float -> float32, int -> int32, str/bytes ->
    string) or a one-element list/array/Tensor of it, or an empty list/array, or a dtype
    (``tf.float32``, 'int64', ...): those two make the column required.
    """
    if isinstance(value, Tensor):
        value = value.numpy()
    if isinstance(value, (list, tuple, np.ndarray)) and np.size(value) == 0:
        dtype = np.asarray(value).dtype
        return ("S" if dtype.kind in "SU" else "float32" if dtype.kind == "f" else dtype.name), None
    if isinstance(value, (list, tuple, np.ndarray)):
        if np.size(value) != 1:
            raise ValueError(f"record_defaults[{column}] must be one value or a dtype; received "
                             f"{np.size(value)} values.")
        value = np.asarray(value).reshape(())[()]
    if isinstance(value, str) and value in ("float32", "float64", "int32", "int64", "string"):
        return ("S" if value == "string" else value), None
    if isinstance(value, type) and value in (float, int, str, bytes):
        return {float: "float32", int: "int32", str: "S", bytes: "S"}[value], None
    if isinstance(value, (bytes, str, np.bytes_, np.str_)):
        return "S", value.encode("utf-8") if isinstance(value, str) else bytes(value)
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"record_defaults[{column}]: bool columns are not supported by "
                         f"CsvDataset (TensorFlow neither); use an int.")
    if isinstance(value, (np.floating, np.integer)):
        return value.dtype.name, value
    if isinstance(value, float):
        return "float32", value
    if isinstance(value, int):
        return "int32", value
    raise ValueError(f"record_defaults[{column}] must be a number, a string, an empty list "
                     f"or a dtype; received {value!r}.")


class CsvDataset(Dataset):
    """One element per CSV record: a tuple of 0-d tensors, one per selected column.

    Args:
        filenames: a path, a list of paths, or a string Tensor of paths.
        record_defaults: one entry per selected column giving its type and the value used
            when the field is empty or equals ``na_value``: e.g. ``[float()] * 29`` (float32
            columns defaulting to 0.0), ``[tf.int32, ""]`` (a required int32 column and a
            string column defaulting to ""). See ``_record_default``.
        compression_type: None/'' (plain), 'GZIP' or 'ZLIB'.
        buffer_size: TensorFlow's read-buffer size; a speed hint only.
        header: skip the first line of each file.
        field_delim: one character, default ','.
        use_quote_delim: double quotes may enclose fields containing the delimiter.
        na_value: a field equal to this string is treated as missing.
        select_cols: sorted column indices to keep; or ``exclude_cols`` to drop.
    Raises:
        ValueError: at construction, bad arguments; when iterated, a record with the wrong
        number of fields, a required field missing, or a field that does not parse as its
        column type (naming the file, line and column).
    """

    def __init__(self, filenames, record_defaults, compression_type=None, buffer_size=None,
                 header=False, field_delim=",", use_quote_delim=True, na_value="",
                 select_cols=None, exclude_cols=None, name=None):
        names = _filenames(filenames)
        if select_cols is not None and exclude_cols is not None:
            raise ValueError("CsvDataset: give select_cols or exclude_cols, not both.")
        if select_cols is not None and list(select_cols) != sorted(set(select_cols)):
            raise ValueError(f"CsvDataset: select_cols must be sorted and without repeats; "
                             f"received {list(select_cols)}.")
        if not isinstance(field_delim, str) or len(field_delim) != 1:
            raise ValueError(f"CsvDataset: field_delim must be one character; received "
                             f"{field_delim!r}.")
        columns = [_record_default(v, k) for k, v in enumerate(record_defaults)]
        if not columns:
            raise ValueError("CsvDataset: record_defaults must list at least one column.")
        if select_cols is not None and len(select_cols) != len(columns):
            raise ValueError(f"CsvDataset: {len(select_cols)} select_cols but "
                             f"{len(columns)} record_defaults; give one default per column.")
        _open_text(names[0], compression_type).close()
        excluded = set(exclude_cols or ())

        def parse(fields, where):
            if select_cols is not None:
                if max(select_cols) >= len(fields):
                    raise ValueError(f"{where}: {len(fields)} fields, but select_cols asks for "
                                     f"column {max(select_cols)}.")
                fields = [fields[c] for c in select_cols]
            elif excluded:
                fields = [f for c, f in enumerate(fields) if c not in excluded]
            if len(fields) != len(columns):
                raise ValueError(f"{where}: expected {len(columns)} fields (one per "
                                 f"record_defaults entry), found {len(fields)}.")
            out = []
            for k, (field, (dtype, default)) in enumerate(zip(fields, columns)):
                if field == "" or field == na_value:
                    if default is None:
                        raise ValueError(f"{where}: column {k} is required (its record_default "
                                         f"is a dtype) but the field is empty.")
                    out.append(np.array(default, dtype=dtype))
                    continue
                try:
                    value = field.encode("utf-8") if dtype == "S" else (
                        float(field) if dtype.startswith("float") else int(field))
                except ValueError:
                    raise ValueError(f"{where}: column {k} should be {dtype}; cannot parse "
                                     f"{field!r}.") from None
                out.append(np.array(value, dtype=dtype))
            return tuple(out)

        def items():
            for path in names:
                with _open_text(path, compression_type) as raw:
                    text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
                    reader = csv.reader(text, delimiter=field_delim,
                                        quoting=csv.QUOTE_MINIMAL if use_quote_delim
                                        else csv.QUOTE_NONE)
                    for line_no, fields in enumerate(reader, 1):
                        if header and line_no == 1:
                            continue
                        if not fields:
                            continue
                        yield parse(fields, f"{path}, line {line_no}")
        super().__init__(items, UNKNOWN, name=name)
