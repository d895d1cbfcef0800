"""``tf.data``: input pipelines (``Dataset``) and file readers, in plain Python and NumPy.

See :mod:`tomei.data.dataset` for the ordering rules (shuffle buffer, batch, repeat, cache).
"""
from types import SimpleNamespace

from tomei.data.dataset import (  # noqa: F401
    AUTOTUNE, INFINITE as INFINITE_CARDINALITY, UNKNOWN as UNKNOWN_CARDINALITY, Dataset,
    TensorSpec,
)
from tomei.data.readers import CsvDataset, TextLineDataset  # noqa: F401

experimental = SimpleNamespace(
    AUTOTUNE=AUTOTUNE, CsvDataset=CsvDataset, INFINITE_CARDINALITY=INFINITE_CARDINALITY,
    UNKNOWN_CARDINALITY=UNKNOWN_CARDINALITY,
    cardinality=lambda dataset: dataset.cardinality(),
)
