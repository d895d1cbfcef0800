"""Bad inputs to fit / evaluate / predict (issue 14 item 11): each gets a ValueError naming
the argument, never a NumPy or tomei internal error, and never silent NaN training."""
import datetime

import numpy as np
import pytest
from .adv_helpers import X, Y, small_model

import tomei


@pytest.fixture(scope="module")
def model():
    return small_model(fit=False)


def refused(call, match):
    with pytest.raises(ValueError, match=match) as info:
        call()
    assert not isinstance(info.value, (KeyError, TypeError, AttributeError))
    return info.value


CALLS = {
    "fit": lambda m, x: m.fit(x, Y[:1], verbose=0),
    "evaluate": lambda m, x: m.evaluate(x, Y[:1], verbose=0),
    "predict": lambda m, x: m.predict(x, verbose=0),
    "train_on_batch": lambda m, x: m.train_on_batch(x, Y[:1]),
    "predict_on_batch": lambda m, x: m.predict_on_batch(x),
}

BAD_X = {
    "0-d number": (np.float32(3.0), "batch axis"),
    "python float": (3.0, "batch axis"),
    "strings": (np.array([["a", "b", "c", "d"]]), "text"),
    "bytes": (np.array([[b"a", b"b", b"c", b"d"]]), "bytes"),
    "objects": (np.array([[object()] * 4], dtype=object), "Python objects"),
    "complex": (np.ones((1, 4), complex), "complex"),
    "dates": (np.array([[datetime.datetime(2020, 1, 1)] * 4], dtype="datetime64[s]"),
              "dates"),
    "ragged lists": ([[1.0, 2.0], [1.0]], "rectangular|must hold numbers"),
}


@pytest.mark.parametrize("call", sorted(CALLS))
@pytest.mark.parametrize("case", sorted(BAD_X))
def test_bad_x_is_refused_naming_x(model, call, case):
    x, match = BAD_X[case]
    err = refused(lambda: CALLS[call](model, x), match)
    assert str(err).startswith("x ")


@pytest.mark.parametrize("scale", [1e300, -1e300, 1e39])
def test_float64_beyond_float32_is_refused_not_trained_to_nan(scale):
    model = small_model(fit=False)
    before = [w.copy() for w in model.get_weights()]
    err = refused(lambda: model.fit(X.astype(np.float64) * scale, Y, verbose=0),
                  "beyond float32")
    assert "Rescale" in str(err)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_float64_overflow_in_validation_data_and_targets_is_refused():
    model = small_model(fit=False)
    big = X.astype(np.float64) * 1e300
    refused(lambda: model.fit(X, Y, validation_data=(big, Y), verbose=0),
            r"validation_data\[0\].*beyond float32")
    refused(lambda: model.evaluate(big, Y, verbose=0), "beyond float32")
    refused(lambda: model.predict(big, verbose=0), "beyond float32")


def test_large_but_representable_float64_is_accepted():
    model = small_model(fit=False)
    model.predict(X.astype(np.float64) * 1e30, verbose=0)


def test_cancelling_huge_values_are_still_caught():
    """+1e300 and -1e300 sum to 0: the cheap first pass must not be fooled by the sign."""
    x = np.zeros((32, 4))
    x[0, 0], x[1, 0] = 1e300, -1e300
    refused(lambda: small_model(fit=False).fit(x, Y, verbose=0), "beyond float32")
    x[0, 0], x[1, 0] = 1e38, -1e38  # within float32: accepted
    small_model(fit=False).predict(x, verbose=0)


@pytest.mark.parametrize("weights", [-np.ones(32), np.r_[np.ones(31), -0.5]])
def test_negative_sample_weight_is_refused(model, weights):
    refused(lambda: model.fit(X, Y, sample_weight=weights, verbose=0), "sample_weight must be >= 0")
    refused(lambda: model.evaluate(X, Y, sample_weight=weights, verbose=0), "sample_weight")
    refused(lambda: model.train_on_batch(X, Y, sample_weight=weights), "sample_weight")
    refused(lambda: model.fit(X, Y, validation_data=(X, Y, weights), verbose=0),
            r"validation_data\[2\] must be >= 0")


def test_zero_sample_weights_are_fine(model):
    model.fit(X, Y, sample_weight=np.r_[np.zeros(16), np.ones(16)], verbose=0)


@pytest.mark.parametrize("class_weight, match", [
    ({0: 1.0, 7: 2.0}, "key 7"),
    ({-1: 1.0}, "key -1"),
    ({"cat": 1.0}, "key 'cat'"),
    ({1.5: 1.0}, "key 1.5"),
    ({True: 1.0}, "key True"),
    ({3: 1.0}, "key 3"),
    ({0: -1.0}, r"class_weight\[0\]"),
    ({0: float("nan")}, r"class_weight\[0\]"),
    ({0: "heavy"}, r"class_weight\[0\]"),
    ([1.0, 2.0, 3.0], "must be a dict"),
])
def test_class_weight_outside_the_classes_is_refused(model, class_weight, match):
    refused(lambda: model.fit(X, Y, class_weight=class_weight, verbose=0), match)
    refused(lambda: model.train_on_batch(X, Y, class_weight=class_weight), match)


def test_class_weight_for_some_classes_keeps_the_others_at_one(model):
    history = model.fit(X, Y, class_weight={0: 2.0}, verbose=0, epochs=1)
    assert np.isfinite(history.history["loss"][0])


def test_class_weight_with_one_hot_targets_counts_columns(model):
    one_hot = tomei.keras.utils.to_categorical(Y, 3)
    cat = small_model(fit=False)
    cat.compile(optimizer="adam",
                loss=tomei.keras.losses.CategoricalCrossentropy(from_logits=True))
    cat.fit(X, one_hot, class_weight={2: 3.0}, verbose=0)
    refused(lambda: cat.fit(X, one_hot, class_weight={3: 1.0}, verbose=0), "key 3")


@pytest.mark.parametrize("steps", [0, -1, -2, 1.5, "3", True])
def test_evaluate_and_predict_refuse_bad_steps(model, steps):
    refused(lambda: model.evaluate(X, Y, steps=steps, verbose=0), "steps must be a positive")
    refused(lambda: model.predict(X, steps=steps, verbose=0), "steps must be a positive")


def test_good_steps_still_limit_the_batches(model):
    assert model.predict(X, steps=1, batch_size=8, verbose=0).shape == (8, 3)
    assert np.isfinite(model.evaluate(X, Y, steps=np.int64(2), verbose=0))
