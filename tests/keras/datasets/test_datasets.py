"""The ``tomei.keras.datasets`` package: what it exports, as Keras's ``keras.datasets``."""

import pytest

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


@pytest.mark.parametrize("name", ["cifar10", "imdb", "boston_housing"])
def test_a_keras_dataset_tomei_does_not_ship_says_so(name):
    with pytest.raises(AttributeError, match=rf"tomei.keras.datasets has no {name}: tomei ships "
                                             r"MNIST and Fashion-MNIST"):
        getattr(tomei.keras.datasets, name)
    assert not hasattr(datasets, "no_such_thing")
