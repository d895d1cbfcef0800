"""The argument checks of tomei/keras/arguments.py: what each accepts, returns and refuses."""
import numpy as np
import pytest

from tomei.keras.arguments import flag, one_of, shape_argument, size_argument, verbose_argument


def test_shape_argument_returns_python_ints_and_none():
    shape = shape_argument([np.int64(28), None], "input_shape", "Flatten()")
    assert shape == (28, None) and type(shape[0]) is int


@pytest.mark.parametrize("value", [28, "28", (28.0,), (-1,), (True,), {"a": 1}, None])
def test_shape_argument_refuses_what_is_not_a_shape(value):
    with pytest.raises(ValueError, match=r"^Flatten\(\): input_shape must be a tuple or list"):
        shape_argument(value, "input_shape", "Flatten()")


def test_shape_argument_allows_one_minus_one_only_when_asked():
    assert shape_argument((2, -1), "target_shape", "Reshape()", minus_one_ok=True) == (2, -1)
    with pytest.raises(ValueError, match="one -1"):
        shape_argument((-1, -1), "target_shape", "Reshape()", minus_one_ok=True)
    with pytest.raises(ValueError, match=r"\(None, 2\)"):
        shape_argument((None, 2), "target_shape", "Reshape()", none_ok=False)


def test_size_argument_minimum_and_none():
    assert size_argument(np.int32(3), "n", "f()") == 3 and size_argument(None, "n", "f()") is None
    for bad in (0, 2.0, True, "3"):
        with pytest.raises(ValueError, match=r"^f\(\): n must be an int >= 1; received n="):
            size_argument(bad, "n", "f()", none_ok=False, minimum=1)


@pytest.mark.parametrize("value, expected", [("auto", 1), (0, 0), (1, 1), (2, 2), (True, 1),
                                             (False, 0), (np.int64(2), 2)])
def test_verbose_levels(value, expected):
    assert verbose_argument(value, "Model.fit()") == expected


@pytest.mark.parametrize("value", ["yes", 3, -1, 1.0, None, "AUTO"])
def test_verbose_refuses_other_values(value):
    with pytest.raises(ValueError, match=r"^Model.fit\(\): verbose must be one of 'auto', 0, 1, "
                                         rf"2 .*received verbose={value!r}"):
        verbose_argument(value, "Model.fit()")


def test_verbose_without_auto():
    with pytest.raises(ValueError, match="must be one of 0, 1"):
        verbose_argument("auto", "EarlyStopping()", (0, 1))


def test_one_of_compares_exactly():
    assert one_of("min", "mode", "EarlyStopping()", ("auto", "min", "max")) == "min"
    for bad in ("MIN", "maximum", None, 1):
        with pytest.raises(ValueError, match=r"^EarlyStopping\(\): mode must be one of 'auto', "
                                             r"'min', 'max'; received mode="):
            one_of(bad, "mode", "EarlyStopping()", ("auto", "min", "max"))


def test_flag_takes_bools_only():
    assert flag(np.bool_(True), "shuffle", "Model.fit()") is True and flag(False, "s", "f") is False
    for bad in ("yes", 1, None, "batch"):
        with pytest.raises(ValueError, match=r"^Model.fit\(\): shuffle must be True or False"):
            flag(bad, "shuffle", "Model.fit()")


def test_unexpected_keywords_suggest_the_close_argument():
    from tomei.keras import layers, optimizers
    with pytest.raises(TypeError, match=r"learning_rte \(did you mean learning_rate\?\)"):
        optimizers.Adam(learning_rte=0.01)
    with pytest.raises(TypeError, match=r"activaton \(did you mean activation\?\)"):
        layers.Dense(10, activaton="relu")
    with pytest.raises(TypeError, match=r"input_shap \(did you mean input_shape\?\)"):  # base class's
        layers.Dense(10, input_shap=(4,))
    with pytest.raises(TypeError) as caught:  # nothing close: the name alone
        layers.Dense(10, zzz=1)
    assert str(caught.value) == "Dense() got unexpected keyword argument(s): zzz."
