"""Datasets with the ``keras.datasets`` interface: ``mnist`` and ``fashion_mnist``."""

from tomei.keras.datasets import fashion_mnist, mnist
from tomei.keras.datasets._discovery import DatasetNotFoundError, dataset_status

__all__ = ["DatasetNotFoundError", "dataset_status", "fashion_mnist", "mnist"]
