"""The ``tomei.keras.datasets`` package: what it exports, as Keras's ``keras.datasets``."""

import tomei
from tomei.keras import datasets
from tomei.keras.datasets.spec import DatasetNotFoundError


def test_keras_names_and_the_error_class():
    assert tomei.keras.datasets.mnist.load_data is datasets.mnist.load_data
    assert callable(datasets.fashion_mnist.load_data)
    assert datasets.DatasetNotFoundError is DatasetNotFoundError
    assert issubclass(DatasetNotFoundError, OSError)  # where Keras raises an OSError too
    assert datasets.mnist.CLASS_NAMES == [str(d) for d in range(10)]
    assert len(datasets.fashion_mnist.CLASS_NAMES) == 10
