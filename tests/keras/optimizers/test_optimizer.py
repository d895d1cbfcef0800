"""The Optimizer base class: per-variable updates, shared layers, state kept by variable."""
import numpy as np
import pytest

import tomei as tf
from tomei.keras import layers, optimizers


def _model(shared, name):
    inputs = tf.keras.Input((3,))
    return tf.keras.Model(inputs, layers.Dense(1, name=f"{name}_head")(shared(inputs)), name=name)


def test_optimizer_of_first_model_still_updates_a_layer_shared_with_a_second_model():
    """Issue 13 item 2: fitting B once moved the shared weights into B's flat buffer, and
    A's optimizer then advanced its step count but no longer changed the kernel."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 3)).astype("float32"), rng.normal(size=(16, 1)).astype("float32")
    shared = layers.Dense(4, name="shared")
    a, b = _model(shared, "a"), _model(shared, "b")
    for model in (a, b):
        model.compile(optimizer=optimizers.SGD(0.1), loss="mse")
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    before = shared.kernel.numpy().copy()
    grads = [np.ones(v.shape, np.float32) for v in a.trainable_variables]
    a.optimizer.apply_gradients(zip(grads, a.trainable_variables))
    np.testing.assert_allclose(shared.kernel.numpy(), before - 0.1, rtol=1e-6)
    # and a fit of A after B still trains the shared kernel with A's optimizer
    before = shared.kernel.numpy().copy()
    a.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert not np.allclose(shared.kernel.numpy(), before)


def test_weights_keep_their_own_arrays_after_fit():
    """No weight is moved into storage shared with another weight."""
    model = tf.keras.Sequential([tf.keras.Input((3,)), layers.Dense(4), layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.zeros((4, 3)), np.zeros((4, 2)), verbose=0)
    for w in model.weights:
        assert w.value.base is None, f"{w.path} is a view into another array"


def test_slots_follow_each_variable_when_the_variable_list_changes():
    """State is kept per variable: dropping one variable from the list keeps the other's."""
    opt = optimizers.SGD(learning_rate=0.1, momentum=0.9)
    v1, v2 = tf.Variable(np.zeros(2, np.float32)), tf.Variable(np.zeros(3, np.float32))
    opt.apply_gradients([(np.ones(2, np.float32), v1), (np.ones(3, np.float32), v2)])
    opt.apply_gradients([(np.ones(3, np.float32), v2)])
    # v2's momentum carried over: m1 = -0.1, m2 = 0.9 * -0.1 - 0.1 = -0.19; v2 = -0.29
    np.testing.assert_allclose(v2.numpy(), [-0.29] * 3, rtol=1e-6)
    assert opt.iterations == 2


def test_optimizer_variables_are_copies():
    opt = optimizers.Adam(0.1)
    v = tf.Variable(np.zeros(3, np.float32))
    opt.apply_gradients([(np.ones(3, np.float32), v)])
    momentum = opt.variables[2]
    kept = momentum.copy()
    momentum[:] = 123.0
    opt.apply_gradients([(np.ones(3, np.float32), v)])
    np.testing.assert_array_equal(momentum, 123.0)  # not overwritten by the next step
    np.testing.assert_allclose(opt.variables[2], kept * 0.9 + 0.1, rtol=1e-6)


def test_public_state_methods_used_by_saving_and_inspect():
    """build_for, slots_of, has_schedule: what saving and tomei.inspect read instead of
    the optimizer's private attributes."""
    opt = optimizers.Adam(learning_rate=0.1)
    v1, v2 = tf.Variable(np.zeros(2, np.float32)), tf.Variable(np.zeros(3, np.float32))
    assert not opt.has_schedule and opt.slots_of(v1) is None
    opt.build_for([v1, v2])
    slots = opt.slots_of(v2)
    assert sorted(slots) == ["momentum", "velocity"] and slots["momentum"].shape == (3,)
    slots["momentum"][...] = 5.0  # the arrays themselves: writing sets the state
    opt.build_for([v1, v2])  # same variables: nothing rebuilt
    assert opt.slots_of(v2)["momentum"][0] == 5.0
    opt.build_for([v2])  # another list: rebuilt, v2's state kept, v1's dropped
    assert opt.slots_of(v2)["momentum"][0] == 5.0 and opt.slots_of(v1) is None
    schedule = optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    assert optimizers.SGD(learning_rate=schedule).has_schedule


def test_nadam_momentum_product_restored_then_advanced_once_per_step():
    opt = optimizers.Nadam()
    v = tf.Variable(np.ones(2, np.float32))
    opt.set_momentum_product(0.5, step=3)
    opt.iterations = 3
    opt.apply_gradients([(np.ones(2, np.float32), v)])
    mu_4 = 0.9 * (1 - 0.5 * 0.96 ** 4)
    assert float(opt.u_product) == pytest.approx(0.5 * mu_4, rel=1e-6)


# --- issue 13 item 4: arguments are implemented or refused, never ignored ---------------------

def _keras_steps(keras, opt, grads, w0):
    v = keras.Variable(w0)
    out = []
    for g in grads:
        opt.apply_gradients([(keras.ops.convert_to_tensor(g), v)])
        out.append(np.asarray(keras.ops.convert_to_numpy(v)).copy())
    return out, int(keras.ops.convert_to_numpy(opt.iterations))


def _tomei_steps(opt, grads, w0):
    v = tf.Variable(w0)
    out = []
    for g in grads:
        opt.apply_gradients([(g, v)])
        out.append(v.numpy())
    return out, opt.iterations  # updates made (calls // gradient_accumulation_steps)


GRADS = [np.random.default_rng(k).normal(size=(2, 3)).astype(np.float32) for k in range(7)]
W0 = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)


@pytest.mark.reference
@pytest.mark.parametrize("name, kwargs", [
    ("Adam", dict(learning_rate=0.1, gradient_accumulation_steps=3)),
    ("SGD", dict(learning_rate=0.1, momentum=0.9, gradient_accumulation_steps=2)),
    ("Adam", dict(learning_rate=0.1, gradient_accumulation_steps=3, clipnorm=0.5)),
    ("SGD", dict(learning_rate=0.1, loss_scale_factor=8.0)),
    ("Adam", dict(learning_rate=0.05, loss_scale_factor=0.5, weight_decay=0.1)),
])
def test_accumulation_and_loss_scale_match_keras(keras, name, kwargs):
    k_out, k_it = _keras_steps(keras, getattr(keras.optimizers, name)(**kwargs), GRADS, W0)
    t_opt = getattr(optimizers, name)(**kwargs)
    t_out, t_it = _tomei_steps(t_opt, GRADS, W0)
    assert t_it == k_it == len(GRADS) // kwargs.get("gradient_accumulation_steps", 1)
    for step, (a, b) in enumerate(zip(t_out, k_out), start=1):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=f"step {step}")
    if kwargs.get("gradient_accumulation_steps"):  # no update before the k-th step
        np.testing.assert_array_equal(t_out[0], W0)
    config = t_opt.get_config()
    for key, value in kwargs.items():
        assert config[key] == value
    assert type(t_opt).from_config(config).get_config() == config


def test_scale_loss_multiplies_by_the_factor():
    assert float(optimizers.SGD(loss_scale_factor=4.0).scale_loss(tf.constant(2.0))) == 8.0
    assert float(optimizers.SGD().scale_loss(tf.constant(2.0))) == 2.0


def test_fit_with_loss_scale_factor_trains_as_without():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 3)).astype("float32"), rng.normal(size=(32, 1)).astype("float32")
    weights = []
    for factor in (None, 1024.0):
        tf.keras.utils.set_random_seed(0)
        model = tf.keras.Sequential([tf.keras.Input((3,)), layers.Dense(1)])
        model.compile(optimizer=optimizers.SGD(0.1, loss_scale_factor=factor), loss="mse")
        model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, rtol=1e-5)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(use_ema=True), NotImplementedError, "use_ema"),
    (dict(gradient_accumulation_steps=1), ValueError, "gradient_accumulation_steps"),
    (dict(gradient_accumulation_steps=2.5), ValueError, "gradient_accumulation_steps"),
    (dict(loss_scale_factor=0), ValueError, "loss_scale_factor"),
])
def test_arguments_not_implemented_or_invalid_are_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        optimizers.Adam(**kwargs)


def test_apply_gradients_wants_pairs():
    dense = layers.Dense(2)
    dense.build((None, 3))
    with pytest.raises(ValueError, match=r"apply_gradients expects \(gradient, variable\) pairs, "
                                         r"e\.g\. .*zip\(.*received an entry of type ndarray with "
                                         r"shape \(3, 2\)"):
        optimizers.Adam().apply_gradients([np.ones((3, 2)), np.ones(2)])
