"""The fused kernels (tomei/engine/fused.py) give the NumPy reference's numbers (1e-6).

Every comparison runs the same op twice, once with fusion off (the readable NumPy code)
and once with the numba kernels loaded, and compares values and gradients. These tests
need numba (the ``fast`` extra); the switch, the import-time promise and the fallbacks are
tested without it too.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

import tomei as tf
from tomei.engine import conv_ops, fused, nn_ops, ops
from tomei.engine.gradcheck import check_gradients
from tomei.engine.tensor import GradientTape, Variable

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def restore_mode():
    before = fused._mode
    yield
    fused._mode = before


@pytest.fixture
def kernels(restore_mode):
    """Fusion on and the kernels loaded (compiled once per machine, then cached)."""
    pytest.importorskip("numba")
    fused.set_mode("auto")
    k = fused.kernels()
    assert k is not None, fused.status()
    return k


def both(fn):
    """fn() with fusion off, then with it on: (reference, fused)."""
    fused.set_mode("off")
    reference = fn()
    fused.set_mode("auto")
    assert fused.loaded() is not None
    return reference, fn()


def assert_same(reference, result):
    for a, b in zip(reference, result):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-6, atol=1e-6)


# --- the switch -----------------------------------------------------------------------------
@pytest.mark.parametrize("raw, expected", [("0", "off"), ("off", "off"), ("False", "off"),
                                           ("numpy", "off"), ("auto", "auto"), ("1", "auto"),
                                           ("", "auto")])
def test_mode_from_environment(monkeypatch, restore_mode, raw, expected):
    monkeypatch.setenv("TOMEI_FUSED", raw)
    fused._mode = None
    assert fused.mode() == expected


def test_bad_environment_value_is_named(monkeypatch, restore_mode):
    monkeypatch.setenv("TOMEI_FUSED", "fast")
    fused._mode = None
    with pytest.raises(ValueError, match="TOMEI_FUSED.*'fast'"):
        fused.mode()


def test_set_mode_rejects_other_words(restore_mode):
    with pytest.raises(ValueError, match="'auto' or 'off'.*'on'"):
        fused.set_mode("on")


def test_off_means_no_kernels(restore_mode):
    fused.set_mode("off")
    assert fused.loaded() is None and fused.kernels() is None
    assert fused.status().startswith("off")


def test_import_tomei_does_not_import_numba():
    code = "import sys, tomei; import tomei.engine.fused; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, env={**os.environ, "PYTHONPATH": ROOT})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_cache_folder_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("TOMEI_CACHE_DIR", str(tmp_path))
    assert fused.cache_dir() == os.path.join(str(tmp_path), "numba")
    monkeypatch.delenv("TOMEI_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert fused.cache_dir() == os.path.join(str(tmp_path / "xdg"), "tomei", "numba")


def test_compiled_kernels_are_cached_on_disk(tmp_path):
    pytest.importorskip("numba")
    code = ("import numpy as np; from tomei.engine import fused; k = fused.kernels(); "
            "a = np.ones(3, np.float32); k.adam_update(a, a.copy(), a.copy(), a.copy(), "
            "np.float32(1e-3), np.float32(0.1), np.float32(0.001), np.float32(1e-7)); "
            "print(fused.status())")
    env = {**os.environ, "PYTHONPATH": ROOT, "TOMEI_CACHE_DIR": str(tmp_path),
           "TOMEI_FUSED": "auto"}
    env.pop("NUMBA_CACHE_DIR", None)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=600, env=env)
    assert out.returncode == 0, out.stderr
    assert str(tmp_path) in out.stdout
    names = [f for _, _, files in os.walk(tmp_path) for f in files]
    assert any(n.startswith("fused.adam_update") and n.endswith(".nbi") for n in names), names
    assert any(n.endswith(".nbc") for n in names), names


def test_loading_the_kernels_leaves_scipy_linalg_unloaded():
    """numba's BLAS probe would load all of scipy.linalg (~17 MB resident) into a process
    that never uses it; the probe is held back while numba loads, then lifted: scipy.linalg
    and numba's own np.dot still work afterwards."""
    pytest.importorskip("numba")
    pytest.importorskip("scipy.linalg")
    code = ("import sys, numpy as np; from tomei.engine import fused; k = fused.kernels(); "
            "x = np.ones((4, 3), np.float32); o = np.empty_like(x); "
            "k.bias_relu_forward(x, np.ones(3, np.float32), o); "
            "print('scipy.linalg' in sys.modules, 'scipy.linalg.cython_blas' in sys.modules); "
            "import scipy.linalg.cython_blas, numba; "
            "dot = numba.njit(lambda a, b: np.dot(a, b)); "
            "print(dot(np.ones((2, 2)), np.ones(2)).tolist())")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=600, env={**os.environ, "PYTHONPATH": ROOT,
                                                      "TOMEI_FUSED": "auto"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["False False", "[2.0, 2.0]"]


def test_a_process_that_uses_scipy_linalg_keeps_it():
    pytest.importorskip("scipy.linalg")
    import scipy.linalg  # noqa: F401
    with fused._without_scipy_linalg():
        import scipy.linalg.cython_blas as blas
    assert blas is sys.modules["scipy.linalg.cython_blas"]


# --- each kernel against its NumPy reference ------------------------------------------------
def test_adam_update_matches_numpy(kernels):
    rng = np.random.default_rng(0)
    shapes = [(784, 128), (128,), (128, 10), (10,)]
    grads = [[rng.standard_normal(s).astype(np.float32) * 0.01 for s in shapes]
             for _ in range(5)]

    def run():
        tf.keras.utils.set_random_seed(1)
        variables = [Variable(np.random.default_rng(2).standard_normal(s).astype(np.float32))
                     for s in shapes]
        opt = tf.keras.optimizers.Adam()
        for step in grads:
            opt.apply_gradients(zip(step, variables))
        return [v.numpy() for v in variables] + [s for slots in opt._slots
                                                 for s in slots.values()]
    assert_same(*both(run))


def test_adam_update_matches_numpy_in_float64(kernels):
    rng = np.random.default_rng(3)
    grads = [rng.standard_normal((7, 5)) for _ in range(4)]

    def run():
        var = Variable(np.linspace(-1, 1, 35).reshape(7, 5))
        opt = tf.keras.optimizers.Adam(learning_rate=0.01)
        for g in grads:
            opt.apply_gradients([(g, var)])
        return [var.numpy()]
    assert_same(*both(run))


def test_amsgrad_stays_on_numpy_and_agrees(kernels):
    grads = [np.full((3,), v, np.float32) for v in (0.5, -1.0, 0.25)]

    def run():
        var = Variable(np.zeros(3, np.float32))
        opt = tf.keras.optimizers.Adam(amsgrad=True)
        for g in grads:
            opt.apply_gradients([(g, var)])
        return [var.numpy()]
    assert_same(*both(run))


def test_bias_relu_value_and_gradients(kernels):
    rng = np.random.default_rng(4)
    x0 = rng.standard_normal((32, 128)).astype(np.float32)
    b0 = rng.standard_normal(128).astype(np.float32)
    g0 = rng.standard_normal((32, 128)).astype(np.float32)

    def run():
        x, b = Variable(x0), Variable(b0)
        with GradientTape() as tape:
            out = nn_ops.bias_relu(x, b)
            loss = ops.reduce_sum(ops.multiply(out, g0))
        gx, gb = tape.gradient(loss, [x, b])
        return [out.numpy(), gx.numpy(), gb.numpy()]
    reference, result = both(run)
    assert_same(reference, result)
    np.testing.assert_array_equal(reference[0], np.maximum(x0 + b0, 0))


def test_bias_relu_passes_nan_on_as_numpy(kernels):
    """ReLU of NaN is NaN (np.maximum), never 0: a NaN weight or input must not be hidden
    by the compiled forward (bias_relu, dense with relu, dense_relu_dropout)."""
    x0 = np.array([[np.nan, 1.0, -1.0], [2.0, -np.inf, np.inf]], np.float32)
    b0 = np.zeros(3, np.float32)
    k0 = np.eye(3, dtype=np.float32)

    def run():
        tf.keras.utils.set_random_seed(3)
        return [nn_ops.bias_relu(x0, b0).numpy(), nn_ops.dense(x0, k0, b0, relu=True).numpy(),
                nn_ops.dense_relu_dropout(x0, k0, b0, 0.5).numpy()]
    reference, result = both(run)
    for a, b in zip(reference, result):
        np.testing.assert_array_equal(b, a)      # NaN where NumPy has NaN, in the same places
    assert np.isnan(result[0][0, 0]) and np.isnan(result[1][0, 0])


def test_bias_relu_equals_add_then_relu():
    rng = np.random.default_rng(5)
    x0 = rng.standard_normal((6, 4)).astype(np.float32)
    b0 = rng.standard_normal(4).astype(np.float32)
    x, b = Variable(x0), Variable(b0)
    with GradientTape(persistent=True) as tape:
        fused_op = ops.reduce_sum(ops.multiply(nn_ops.bias_relu(x, b), x0))
        chain = ops.reduce_sum(ops.multiply(nn_ops.relu(ops.add(x, b)), x0))
    for a, c in zip(tape.gradient(fused_op, [x, b]), tape.gradient(chain, [x, b])):
        np.testing.assert_allclose(a.numpy(), c.numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(fused_op.numpy(), chain.numpy(), rtol=1e-6)


def test_dense_relu_value_and_gradients(kernels):
    rng = np.random.default_rng(8)
    x0 = rng.standard_normal((32, 64)).astype(np.float32)
    k0 = rng.standard_normal((64, 128)).astype(np.float32)
    b0 = rng.standard_normal(128).astype(np.float32)
    g0 = rng.standard_normal((32, 128)).astype(np.float32)

    def run():
        x, k, b = Variable(x0), Variable(k0), Variable(b0)
        with GradientTape() as tape:
            out = nn_ops.dense(x, k, b, relu=True)
            loss = ops.reduce_sum(ops.multiply(out, g0))
        return [out.numpy()] + [g.numpy() for g in tape.gradient(loss, [x, k, b])]
    reference, result = both(run)
    assert_same(reference, result)


@pytest.mark.parametrize("relu", [False, True], ids=["linear", "relu"])
def test_dense_equals_matmul_then_bias(relu):
    rng = np.random.default_rng(9)
    x0, k0 = rng.standard_normal((6, 5)).astype(np.float32), rng.standard_normal((5, 4)).astype(np.float32)
    b0, g0 = rng.standard_normal(4).astype(np.float32), rng.standard_normal((6, 4)).astype(np.float32)
    x, k, b = Variable(x0), Variable(k0), Variable(b0)
    with GradientTape(persistent=True) as tape:
        one_op = ops.reduce_sum(ops.multiply(nn_ops.dense(x, k, b, relu=relu), g0))
        summed = ops.add(ops.matmul(x, k), b)
        chain = ops.reduce_sum(ops.multiply(nn_ops.relu(summed) if relu else summed, g0))
    for a, c in zip(tape.gradient(one_op, [x, k, b]), tape.gradient(chain, [x, k, b])):
        np.testing.assert_allclose(a.numpy(), c.numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(one_op.numpy(), chain.numpy(), rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dense_relu_dropout_is_the_two_ops(kernels, dtype):
    """One op, the same draws, values and gradients as dense(relu) then dropout, bit for bit
    with the kernels on; and to 1e-6 against the NumPy reference."""
    rng = np.random.default_rng(16)
    x0, k0 = rng.standard_normal((8, 5)).astype(dtype), rng.standard_normal((5, 6)).astype(dtype)
    b0, g0 = rng.standard_normal(6).astype(dtype), rng.standard_normal((8, 6)).astype(dtype)

    def run(one_op):
        x, k, b = Variable(x0), Variable(k0), Variable(b0)
        with GradientTape() as tape:
            out = nn_ops.dense_relu_dropout(x, k, b, 0.3, np.random.default_rng(4)) if one_op \
                else nn_ops.dropout(nn_ops.dense(x, k, b, relu=True), 0.3,
                                    np.random.default_rng(4))
            loss = ops.reduce_sum(ops.multiply(out, g0))
        return [out.numpy()] + [g.numpy() for g in tape.gradient(loss, [x, k, b])]
    chain, one = run(False), run(True)
    for a, b in zip(chain, one):
        np.testing.assert_array_equal(b, a)
    assert 0 < np.mean(one[0] == 0) < 1
    assert_same(*both(lambda: run(True)))


def test_dropout_same_mask_and_gradient(kernels):
    x0 = np.random.default_rng(6).standard_normal((32, 128)).astype(np.float32)

    def run():
        x = Variable(x0)
        with GradientTape() as tape:
            out = nn_ops.dropout(x, 0.2, rng=np.random.default_rng(7))
            loss = ops.reduce_sum(ops.multiply(out, x0))
        return [out.numpy(), tape.gradient(loss, x).numpy()]
    reference, result = both(run)
    np.testing.assert_array_equal(result[0], reference[0])    # same draws, same mask
    assert_same(reference, result)
    assert 0.7 < np.mean(reference[0] != 0) < 0.9


@pytest.mark.parametrize("labels_dtype", [np.uint8, np.int32, np.int64])
def test_sparse_cross_entropy_value_and_gradient(kernels, labels_dtype):
    rng = np.random.default_rng(8)
    z0 = (rng.standard_normal((32, 10)) * 5).astype(np.float32)
    labels = rng.integers(0, 10, 32).astype(labels_dtype)
    g0 = rng.random(32).astype(np.float32)

    def run():
        z = Variable(z0)
        with GradientTape() as tape:
            loss = nn_ops.sparse_softmax_cross_entropy(labels, z)
            total = ops.reduce_sum(ops.multiply(loss, g0))
        return [loss.numpy(), tape.gradient(total, z).numpy()]
    assert_same(*both(run))


@pytest.mark.parametrize("labels_dtype", [np.uint8, np.int64])
def test_mean_sparse_cross_entropy_value_and_gradient(kernels, labels_dtype):
    rng = np.random.default_rng(18)
    z0 = (rng.standard_normal((32, 10)) * 5).astype(np.float32)
    labels = rng.integers(0, 10, 32).astype(labels_dtype)

    def run():
        z = Variable(z0)
        with GradientTape() as tape:
            loss = nn_ops.mean_sparse_softmax_cross_entropy(labels, z)
            total = ops.multiply(loss, np.float32(3.0))
        return [loss.numpy(), tape.gradient(total, z).numpy()]
    reference, result = both(run)
    assert_same(reference, result)
    assert np.asarray(result[0]).shape == () and result[0].dtype == np.float32


def test_mean_sparse_cross_entropy_bad_label_gives_the_reference_error(kernels):
    with pytest.raises(IndexError):
        nn_ops.mean_sparse_softmax_cross_entropy(np.array([0, 3]), np.zeros((2, 3), np.float32))


def test_sparse_cross_entropy_bad_label_gives_numpy_error(kernels):
    z = np.zeros((2, 3), np.float32)
    with pytest.raises(IndexError):
        nn_ops.sparse_softmax_cross_entropy(np.array([0, 3]), z)


def test_gather_cast_matches_numpy(kernels):
    from tomei.keras.models import data as data_mod
    x = np.random.default_rng(9).random((50, 28, 28))
    index = np.array([3, 49, 0, 3, 17])
    reference, result = both(lambda: [data_mod.take(x, index)])
    np.testing.assert_array_equal(result[0], reference[0])
    assert result[0].dtype == np.float32 and result[0].shape == (5, 28, 28)
    with pytest.raises(IndexError):
        data_mod.take(x, np.array([0, 50]))          # NumPy's error, not a wild read
    for n in range(10):  # whole groups of four rows, and what is left over
        index = np.random.default_rng(n).integers(0, 50, n)
        np.testing.assert_array_equal(data_mod.take(x, index), x[index].astype(np.float32))
    with pytest.raises(IndexError):
        data_mod.take(x, np.array([0, 1, 2, 3, 4, 5, 6, -51]))


def test_tutorial_training_matches_numpy(kernels):
    """A few steps of the tutorial's model: same losses and weights with and without."""
    rng = np.random.default_rng(10)
    x = rng.random((256, 28, 28))
    y = rng.integers(0, 10, 256).astype(np.uint8)

    def run():
        tf.keras.utils.set_random_seed(0)
        model = tf.keras.models.Sequential([
            tf.keras.layers.Flatten(input_shape=(28, 28)),
            tf.keras.layers.Dense(64, activation="relu"),
            tf.keras.layers.Dropout(0.2),
            tf.keras.layers.Dense(10)])
        model.compile(optimizer="adam",
                      loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
        history = model.fit(x, y, epochs=2, batch_size=32, verbose=0)
        return ([np.array(history.history["loss"])] + model.get_weights() +
                [model.predict(x[:64], verbose=0)])
    assert_same(*both(run))


def test_other_float_types_stay_on_numpy(kernels):
    """float16 (and byte-swapped) arrays are not the kernels' types: the NumPy path runs."""
    from tomei.keras.models import data as data_mod
    x = np.array([[-1.0, 2.0]], np.float16)
    out = nn_ops.bias_relu(x, np.array([0.5, 0.5], np.float16))
    np.testing.assert_array_equal(out.numpy(), np.array([[0.0, 2.5]], np.float16))
    swapped = np.arange(6, dtype=">f8").reshape(3, 2)
    np.testing.assert_array_equal(data_mod.take(swapped, np.array([2, 0])),
                                  np.array([[4, 5], [0, 1]], np.float32))
    var = Variable(np.zeros(2, np.float16))
    tf.keras.optimizers.Adam().apply_gradients([(np.ones(2, np.float16), var)])
    assert var.dtype == np.float16 and np.all(var.numpy() < 0)


# --- convolution and pooling (conv_ops) --------------------------------------------------
def _value_and_grads(fn, *arrays, seed=11):
    """fn(*Variables), and the gradients of sum(fn * a fixed random weighting)."""
    variables = [Variable(a) for a in arrays]
    with GradientTape() as tape:
        out = fn(*variables)
    weights = np.random.default_rng(seed).standard_normal(out.shape).astype(out.dtype)
    return [out.numpy()] + [g.numpy() for g in tape.gradient(out, variables,
                                                              output_gradients=weights)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, k, strides, padding, dilations", [
    ((2, 7, 6, 3), (3, 3), 1, "VALID", 1),
    ((1, 7, 6, 3), (3, 2), 2, "SAME", 1),
    ((2, 8, 7, 2), (3, 3), 1, "SAME", 2),
    ((3, 13, 13, 8), (3, 3), 1, "VALID", 1),
], ids=str)
def test_conv2d_kernels_match_numpy(kernels, dtype, shape, k, strides, padding, dilations):
    rng = np.random.default_rng(12)
    x = rng.standard_normal(shape).astype(dtype)
    f = rng.standard_normal(k + (shape[3], 5)).astype(dtype)
    assert_same(*both(lambda: _value_and_grads(
        lambda a, b: conv_ops.conv2d(a, b, strides, padding, dilations=dilations), x, f)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv2d_transpose_kernels_match_numpy(kernels, dtype):
    rng = np.random.default_rng(13)
    x = rng.standard_normal((2, 4, 5, 3)).astype(dtype)
    f = rng.standard_normal((3, 3, 2, 3)).astype(dtype)
    assert_same(*both(lambda: _value_and_grads(
        lambda a, b: conv_ops.conv2d_transpose(a, b, (2, 8, 10, 2), 2, "SAME"), x, f)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, ksize, strides, padding", [
    ((2, 26, 26, 4), 2, 2, "VALID"),    # the convnet's pools: 26 -> 13, 11 -> 5 (a row left out)
    ((2, 11, 11, 4), 2, 2, "VALID"),
    ((1, 7, 5, 3), 3, 2, "SAME"),       # overlapping windows, -inf padding
    ((2, 5, 7, 2), (2, 3), 1, "SAME"),
], ids=str)
def test_max_pool_kernels_match_numpy(kernels, dtype, shape, ksize, strides, padding):
    x = np.random.default_rng(14).standard_normal(shape).astype(dtype)
    x[0, 1, 1, 0] = x[0, 1, 0, 0]      # a tie: the earlier tap wins in both
    reference, result = both(lambda: _value_and_grads(
        lambda a: conv_ops.max_pool2d(a, ksize, strides, padding), x))
    assert_same(reference, result)
    np.testing.assert_array_equal(result[1] != 0, reference[1] != 0)   # same winners


def test_max_pool_kernel_passes_nan_on_as_numpy(kernels):
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    x[0, 0, 1, 0] = np.nan
    reference, result = both(lambda: conv_ops.max_pool2d(x, 2, 2, "VALID").numpy())
    np.testing.assert_array_equal(result, reference)   # NaN in the first window, in both
    assert np.isnan(result[0, 0, 0, 0]) and result[0, 1, 1, 0] == 15


def test_conv_gradients_with_kernels_loaded(kernels):
    """The float64 gradient checks of tests/engine/test_conv_ops.py, on the compiled path."""
    rng = np.random.default_rng(15)
    check_gradients(lambda a, b: conv_ops.conv2d(a, b, 2, "SAME"),
                    rng.standard_normal((2, 7, 6, 3)), rng.standard_normal((3, 3, 3, 2)))
    check_gradients(lambda a: conv_ops.max_pool2d(a, 3, 2, "SAME"),
                    rng.permutation(2 * 7 * 5 * 2).reshape(2, 7, 5, 2) * 0.01)


def test_conv_ops_use_the_kernels(kernels, monkeypatch):
    """conv2d's backward and max_pool2d run the compiled loops when they are loaded (and
    not when fusion is off): a NumPy path taken by mistake would fail here."""
    calls = []

    def spy(name):
        original = getattr(kernels, name)

        def counted(*args):
            calls.append(name)
            return original(*args)
        return counted
    for name in ("im2col", "col2im", "max_pool_forward", "max_pool_backward"):
        monkeypatch.setattr(kernels, name, spy(name))
    x = np.random.default_rng(16).standard_normal((2, 6, 6, 2)).astype(np.float32)
    f = np.ones((3, 3, 2, 2), np.float32)
    _value_and_grads(lambda a, b: conv_ops.max_pool2d(conv_ops.conv2d(a, b, 1, "SAME"), 2, 2,
                                                      "VALID"), x, f)
    assert calls == ["im2col", "max_pool_forward", "max_pool_backward", "col2im"]
    fused.set_mode("off")
    _value_and_grads(lambda a: conv_ops.max_pool2d(a, 2, 2, "VALID"), x)
    assert len(calls) == 4


def test_a_batch_in_parts_on_two_cores_matches_one_piece(kernels, monkeypatch):
    """Large enough that tomei/engine/cores.py cuts the kernels and the products (under fit's
    one-BLAS-thread limit): the output and the input's gradient are the same numbers as in
    one piece; the kernel's gradient, a float32 sum over 64*13*13 windows added in two
    partial sums, agrees to float32 rounding."""
    from threadpoolctl import threadpool_limits

    from tomei.engine import cores
    rng = np.random.default_rng(18)
    x = rng.standard_normal((64, 13, 13, 8)).astype(np.float32)
    f = rng.standard_normal((3, 3, 8, 32)).astype(np.float32)

    def run():
        return _value_and_grads(lambda a, b: conv_ops.max_pool2d(
            conv_ops.conv2d(a, b, 1, "SAME"), 2, 2, "VALID"), x, f)
    with threadpool_limits(limits=1, user_api="blas"):
        monkeypatch.setattr(cores, "available", lambda: 2)
        in_parts = run()
        monkeypatch.setattr(cores, "available", lambda: 1)
        whole = run()
    np.testing.assert_array_equal(in_parts[0], whole[0])
    np.testing.assert_array_equal(in_parts[1], whole[1])
    np.testing.assert_allclose(in_parts[2], whole[2], rtol=1e-5, atol=1e-4)


def test_bias_relu_on_images_matches_numpy(kernels):
    """Conv2D's bias + ReLU on (N, H, W, C) runs the 2-D kernel on (N*H*W, C) rows; also for a
    non-contiguous input (a transposed view)."""
    rng = np.random.default_rng(17)
    x0 = rng.standard_normal((2, 5, 4, 3)).astype(np.float32)
    b0 = rng.standard_normal(3).astype(np.float32)
    for x_in in (x0, x0.transpose(0, 2, 1, 3)):
        reference, result = both(lambda: _value_and_grads(nn_ops.bias_relu, x_in, b0))
        assert_same(reference, result)
        np.testing.assert_array_equal(result[0], np.maximum(x_in + b0, 0))


# --- Winograd's F(2x2, 3x3): conv2d's fast path for 3x3, stride-1 convolutions -----------------
WINOGRAD_KERNELS = ("winograd_input", "winograd_output", "winograd_grad_output",
                    "winograd_grad_input")
#: A forward and backward on one chunk: the input transformed again for the kernel gradient.
WINOGRAD_STEP = ["winograd_input", "winograd_output", "winograd_grad_output", "winograd_input",
                 "winograd_grad_input"]


@pytest.fixture
def winograd(kernels, monkeypatch):
    """Every 3x3, stride-1 conv2d with >= 4 input channels on the Winograd path, however
    small; returns the list of the Winograd kernels called, in order."""
    monkeypatch.setattr(conv_ops, "WINOGRAD_WORK", 0)
    calls = []
    for name in WINOGRAD_KERNELS + ("im2col", "col2im"):
        original = getattr(kernels, name)

        def counted(*args, _name=name, _original=original):
            calls.append(_name)
            return _original(*args)
        monkeypatch.setattr(kernels, name, counted)
    return calls


def assert_close_to_rounding(reference, result, dtype):
    """float64: the same math, to 1e-10; float32: Winograd's sums are grouped differently
    from im2col's, so they agree to float32 rounding of the largest value (1e-5 of it)."""
    for a, b in zip(reference, result):
        if dtype == np.float64:
            np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)
        else:
            np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5 * np.abs(a).max())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, padding, filters", [
    ((3, 13, 13, 8), "VALID", 6),   # 11x11 outputs: the last tile row and column half outside
    ((1, 7, 6, 4), "SAME", 3),      # odd height, even width, padding
    ((2, 10, 9, 5), "VALID", 4),    # 8x7 outputs
    ((2, 4, 4, 4), "VALID", 2),     # one 2x2 tile per image
], ids=str)
def test_winograd_matches_the_im2col_reference(winograd, dtype, shape, padding, filters):
    rng = np.random.default_rng(19)
    x = rng.standard_normal(shape).astype(dtype)
    f = rng.standard_normal((3, 3, shape[3], filters)).astype(dtype)
    reference, result = both(lambda: _value_and_grads(
        lambda a, b: conv_ops.conv2d(a, b, 1, padding), x, f))
    assert winograd == WINOGRAD_STEP   # the fused run took the Winograd path only
    assert_close_to_rounding(reference, result, dtype)
    assert all(r.dtype == dtype for r in result)


def test_winograd_gradients_against_central_differences(winograd):
    rng = np.random.default_rng(20)
    for padding in ("SAME", "VALID"):
        check_gradients(lambda a, b: conv_ops.conv2d(a, b, 1, padding),
                        rng.standard_normal((2, 6, 5, 4)), rng.standard_normal((3, 3, 4, 3)))
    assert "winograd_grad_input" in winograd and "im2col" not in winograd


@pytest.mark.parametrize("strides, dilations, k, channels", [
    (2, 1, (3, 3), 4), (1, 2, (3, 3), 4), (1, 1, (5, 5), 4), (1, 1, (3, 2), 4), (1, 1, (3, 3), 3)])
def test_winograd_only_for_3x3_stride_1_and_4_channels_or_more(winograd, strides, dilations, k,
                                                               channels):
    rng = np.random.default_rng(21)
    x, f = rng.standard_normal((2, 9, 9, channels)), rng.standard_normal(k + (channels, 2))
    _value_and_grads(lambda a, b: conv_ops.conv2d(a, b, strides, "SAME", dilations=dilations), x, f)
    assert winograd == ["im2col", "col2im"]


def test_small_convolutions_stay_on_im2col(kernels, monkeypatch):
    """Below WINOGRAD_WORK multiply-adds (the default), the im2col kernels run."""
    called = []
    monkeypatch.setattr(kernels, "winograd_input", lambda *a: called.append(a))
    x = np.random.default_rng(22).standard_normal((2, 8, 8, 4)).astype(np.float32)
    conv_ops.conv2d(x, np.ones((3, 3, 4, 4), np.float32), 1, "SAME")
    assert called == []


def test_winograd_backward_takes_a_non_contiguous_gradient(winograd):
    """The kernels read C-contiguous arrays: a gradient handed over as a strided view is laid
    out first, and gives the reference's numbers."""
    rng = np.random.default_rng(23)
    x = rng.standard_normal((2, 6, 6, 4))
    f = rng.standard_normal((3, 3, 4, 2))
    g = np.asfortranarray(rng.standard_normal((2, 4, 4, 2)))

    def grads():
        a, b = Variable(x), Variable(f)
        with GradientTape() as tape:
            out = conv_ops.conv2d(a, b, 1, "VALID")
        return [t.numpy() for t in tape.gradient(out, [a, b], output_gradients=g)]
    reference, result = both(grads)
    assert winograd == WINOGRAD_STEP   # forward and backward, on the fused run
    assert_close_to_rounding(reference, result, np.float64)


def test_winograd_never_hides_a_nan(winograd):
    """A NaN pixel: every output whose window reads it is NaN, as with im2col (Winograd's
    transforms mix a tile's 4x4 block, so the other outputs of that tile are NaN too)."""
    x = np.random.default_rng(24).standard_normal((2, 9, 8, 4))
    x[1, 4, 3, 2] = np.nan
    f = np.random.default_rng(25).standard_normal((3, 3, 4, 3))
    reference, result = both(lambda: conv_ops.conv2d(x, f, 1, "VALID").numpy())
    assert winograd == ["winograd_input", "winograd_output"]
    assert np.isnan(reference).any()
    assert np.all(np.isnan(result)[np.isnan(reference)])
    finite = ~np.isnan(result)
    np.testing.assert_allclose(result[finite], reference[finite], rtol=1e-10, atol=1e-12)
