"""snake_case: the one rule that turns class names into Keras names."""
import pytest

from tomei.keras.naming import snake_case


@pytest.mark.parametrize("name, expected", [
    ("Dense", "dense"), ("BatchNormalization", "batch_normalization"), ("SGD", "sgd"),
    ("RMSprop", "rm_sprop"), ("Conv2DTranspose", "conv2d_transpose"), ("MaxPooling2D",
                                                                     "max_pooling2d"),
    ("Custom-Layer!", "custom_layer"),
    ("GlorotUniform", "glorot_uniform"), ("SparseCategoricalCrossentropy",
                                          "sparse_categorical_crossentropy"),
])
def test_snake_case(name, expected):
    assert snake_case(name) == expected


def test_every_user_of_a_default_name_uses_the_same_rule():
    from tomei.keras import initializers, layers, losses, metrics, optimizers
    assert layers.BatchNormalization().name.startswith("batch_normalization")
    assert losses.SparseCategoricalCrossentropy().name == "sparse_categorical_crossentropy"
    assert optimizers.Adam().name == "adam"
    assert metrics.Mean().name == "mean"
    assert isinstance(initializers.get("HeNormal"), initializers.HeNormal)
