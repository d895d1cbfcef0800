"""The metrics and schedules the tutorials use, against real Keras 3: values, configs."""
import numpy as np
import pytest

import tomei.keras as tk

rng = np.random.default_rng(0)
SCORES = rng.normal(size=(64, 7)).astype(np.float32)
SCORES[:8, :3] = 0.5  # ties at the top-k boundary
LABELS = rng.integers(0, 7, size=64)
PROBS = 1 / (1 + np.exp(-SCORES[:, :1]))
BINARY = (rng.random((64, 1)) > 0.5).astype(np.float32)

METRICS = [
    ("BinaryCrossentropy", {}, BINARY, PROBS),
    ("BinaryCrossentropy", {"from_logits": True}, BINARY, SCORES[:, :1]),
    ("BinaryCrossentropy", {"label_smoothing": 0.1}, BINARY, PROBS),
    ("TopKCategoricalAccuracy", {}, np.eye(7)[LABELS], SCORES),
    ("TopKCategoricalAccuracy", {"k": 2}, np.eye(7)[LABELS], SCORES),
    ("SparseTopKCategoricalAccuracy", {}, LABELS, SCORES),
    ("SparseTopKCategoricalAccuracy", {"k": 1}, LABELS[:, None], SCORES),
    ("SparseTopKCategoricalAccuracy", {"k": 3}, LABELS, SCORES),
]


@pytest.mark.parametrize("name, kwargs, y_true, y_pred", METRICS)
def test_metric_values_and_configs(keras, to_np, name, kwargs, y_true, y_pred):
    k_metric = getattr(keras.metrics, name)(**kwargs)
    t_metric = getattr(tk.metrics, name)(**kwargs)
    weights = np.linspace(0.5, 1.5, len(y_true)).astype(np.float32)
    for part in (slice(0, 20), slice(20, 64)):  # two updates: the running mean
        k_metric.update_state(y_true[part], y_pred[part], sample_weight=weights[part])
        t_metric.update_state(y_true[part], y_pred[part], sample_weight=weights[part])
    np.testing.assert_allclose(float(t_metric.result()), float(to_np(k_metric.result())),
                               rtol=1e-5)
    k_config = k_metric.get_config()
    assert t_metric.get_config() == {k: v for k, v in k_config.items()}


def test_sparse_top_k_from_sorted_ids(keras, to_np):
    ids = np.argsort(-SCORES, axis=-1)[:, :4]
    k_metric = keras.metrics.SparseTopKCategoricalAccuracy(k=3, from_sorted_ids=True)
    t_metric = tk.metrics.SparseTopKCategoricalAccuracy(k=3, from_sorted_ids=True)
    k_metric.update_state(LABELS, ids)
    t_metric.update_state(LABELS, ids)
    assert float(t_metric.result()) == pytest.approx(float(to_np(k_metric.result())))


@pytest.mark.parametrize("name", ["binary_crossentropy", "top_k_categorical_accuracy",
                                  "sparse_top_k_categorical_accuracy"])
def test_string_names_resolve_to_the_same_class(keras, name):
    assert type(tk.metrics.get(name)).__name__ == type(keras.metrics.get(name)).__name__


SCHEDULES = [
    ("InverseTimeDecay", dict(initial_learning_rate=0.001, decay_steps=20, decay_rate=1)),
    ("InverseTimeDecay", dict(initial_learning_rate=0.1, decay_steps=3, decay_rate=0.5,
                              staircase=True)),
    ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=5)),
    ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=4, end_learning_rate=0.01,
                             power=2.0, cycle=True)),
    ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=3)),
    ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=2, t_mul=1.0,
                                 m_mul=0.5, alpha=0.1)),
]


@pytest.mark.parametrize("name, kwargs", SCHEDULES)
def test_schedule_values_and_configs(keras, to_np, name, kwargs):
    k_schedule = getattr(keras.optimizers.schedules, name)(**kwargs)
    t_schedule = getattr(tk.optimizers.schedules, name)(**kwargs)
    for step in range(25):
        np.testing.assert_allclose(t_schedule(step), float(to_np(k_schedule(step))), rtol=1e-6,
                                   atol=1e-9, err_msg=f"step {step}")
    steps = np.linspace(0, 24, 7)
    np.testing.assert_allclose(t_schedule(steps).numpy(), to_np(k_schedule(steps)), rtol=1e-6)
    assert t_schedule.get_config() == k_schedule.get_config()
    rebuilt = tk.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(k_schedule))
    assert type(rebuilt).__name__ == name and rebuilt.get_config() == k_schedule.get_config()


# --- legacy whole-model .h5, both ways ------------------------------------------------------

X = rng.random((64, 784)).astype(np.float32)
Y = rng.integers(0, 10, size=64)


def _save_and_load_model(lib, functional=False):
    """The save_and_load tutorial's model (or a functional twin), compiled and fitted once."""
    layers = lib.layers
    if functional:
        inputs = lib.Input(shape=(784,))
        hidden = layers.Dropout(0.2)(layers.Dense(32, activation="relu")(inputs))
        model = lib.Model(inputs, layers.Dense(10)(hidden))
    else:
        model = lib.Sequential([lib.Input(shape=(784,)), layers.Dense(32, activation="relu"),
                                layers.Dropout(0.2), layers.Dense(10)])
    model.compile(optimizer="adam",
                  loss=lib.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[lib.metrics.SparseCategoricalAccuracy()])
    model.fit(X, Y, epochs=1, batch_size=16, verbose=0)
    return model


@pytest.mark.parametrize("functional", [False, True])
def test_h5_written_by_tomei_loads_in_keras(keras, to_np, tmp_path, functional, fresh_names):
    ours = _save_and_load_model(tk, functional)
    with pytest.warns(UserWarning, match="legacy HDF5"):
        ours.save(tmp_path / "m.h5")
    theirs = keras.models.load_model(tmp_path / "m.h5")
    np.testing.assert_allclose(to_np(theirs.predict(X, verbose=0)), ours.predict(X, verbose=0),
                               rtol=1e-5, atol=1e-6)
    # Keras's legacy loader restores the step count (on torch it lists no moment slots even
    # for a file Keras wrote itself, so only the count is compared)
    assert int(to_np(theirs.optimizer.iterations)) == int(ours.optimizer.iterations) == 4
    k_loss, k_acc = theirs.evaluate(X, Y, verbose=0)
    t_loss, t_acc = ours.evaluate(X, Y, verbose=0)
    assert k_loss == pytest.approx(t_loss, rel=1e-5) and k_acc == pytest.approx(t_acc)


@pytest.mark.parametrize("functional", [False, True])
def test_h5_written_by_keras_loads_in_tomei(keras, to_np, tmp_path, functional, fresh_names):
    theirs = _save_and_load_model(keras, functional)
    theirs.save(tmp_path / "k.h5")
    ours = tk.models.load_model(tmp_path / "k.h5")
    np.testing.assert_allclose(ours.predict(X, verbose=0), to_np(theirs.predict(X, verbose=0)),
                               rtol=1e-5, atol=1e-6)
    assert int(ours.optimizer.iterations) == 4 and ours.compiled
    k_loss, k_acc = theirs.evaluate(X, Y, verbose=0)
    t_loss, t_acc = ours.evaluate(X, Y, verbose=0)
    assert t_loss == pytest.approx(k_loss, rel=1e-5) and t_acc == pytest.approx(k_acc)
    assert len(theirs.optimizer.variables) == len(ours.optimizer.variables) == 10
    for a, b in zip(theirs.optimizer.variables, ours.optimizer.variables):
        np.testing.assert_allclose(np.asarray(b), to_np(a), rtol=1e-6)  # the restored moments


def test_unbuilt_summary_matches_keras(keras, fresh_names):
    k_lines, t_lines = [], []
    keras.Sequential([keras.layers.Dense(64, activation="relu"), keras.layers.Dense(1)]).summary(
        print_fn=lambda line, **kw: k_lines.extend(line.splitlines()), line_length=76)
    tk.Sequential([tk.layers.Dense(64, activation="relu"), tk.layers.Dense(1)]).summary(
        print_fn=t_lines.append, line_length=76)
    strip = [line.rstrip() for line in k_lines if line.strip()]
    assert [line.rstrip() for line in t_lines] == strip
