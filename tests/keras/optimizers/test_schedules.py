"""Learning-rate schedules: Keras formulas, arguments, errors, serialization, optimizer use."""
import math

import numpy as np
import pytest

from tomei.keras import Input, Sequential, layers, optimizers
from tomei.keras.optimizers import schedules
from tomei.keras.serialization import deserialize, serialize


def test_exponential_decay():
    s = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    assert [s(step) for step in (0, 10, 20)] == pytest.approx([0.1, 0.05, 0.025])
    assert s(5) == pytest.approx(0.1 * 0.5 ** 0.5)
    stairs = schedules.ExponentialDecay(0.1, 10, 0.5, staircase=True)
    assert [stairs(step) for step in (0, 9, 10, 19, 20)] == \
        pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025])
    assert s.name == "ExponentialDecay"


def test_piecewise_constant_decay_boundaries_are_inclusive_on_the_left_interval():
    s = schedules.PiecewiseConstantDecay([100, 200], [1.0, 0.5, 0.1])
    assert [s(step) for step in (0, 100, 101, 200, 201, 10_000)] == \
        [1.0, 1.0, 0.5, 0.5, 0.1, 0.1]
    assert s.name == "PiecewiseConstant"


def test_cosine_decay_without_and_with_warmup():
    s = schedules.CosineDecay(0.1, decay_steps=100)
    assert s(0) == pytest.approx(0.1)
    assert s(50) == pytest.approx(0.05)
    assert s(100) == pytest.approx(0.0, abs=1e-12) and s(500) == pytest.approx(0.0, abs=1e-12)
    s = schedules.CosineDecay(0.1, decay_steps=100, alpha=0.2)
    assert s(100) == pytest.approx(0.02)
    assert s(25) == pytest.approx(0.1 * (0.8 * 0.5 * (1 + math.cos(math.pi / 4)) + 0.2))
    w = schedules.CosineDecay(0.0, decay_steps=10, warmup_target=1.0, warmup_steps=5)
    assert [w(step) for step in (0, 1, 4)] == pytest.approx([0.0, 0.2, 0.8])
    assert w(5) == pytest.approx(1.0)  # the decay starts from the warmup target
    assert w(10) == pytest.approx(0.5) and w(15) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("make, match", [
    (lambda: schedules.ExponentialDecay(0.1, 0, 0.5), "decay_steps.*> 0; received decay_steps=0"),
    (lambda: schedules.CosineDecay(0.1, -1), "decay_steps=-1"),
    (lambda: schedules.PiecewiseConstantDecay([1, 2], [1.0]), "one more value than boundaries"),
    (lambda: schedules.PiecewiseConstantDecay([2, 1], [1.0, 0.5, 0.1]), "strictly increasing"),
])
def test_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("schedule", [
    schedules.ExponentialDecay(0.1, 10, 0.5, staircase=True),
    schedules.PiecewiseConstantDecay([1, 2], [0.3, 0.2, 0.1]),
    schedules.CosineDecay(0.1, 10, alpha=0.1, warmup_target=0.2, warmup_steps=3),
])
def test_serialization_round_trip(schedule):
    config = schedules.serialize(schedule)
    assert config["module"] == "keras.optimizers.schedules"
    assert config["class_name"] == type(schedule).__name__
    again = schedules.deserialize(config)
    assert again.get_config() == schedule.get_config()
    assert deserialize(serialize(schedule), "keras.optimizers.schedules").get_config() == \
        schedule.get_config()


def test_optimizer_evaluates_the_schedule_at_each_step():
    lr = schedules.PiecewiseConstantDecay([1, 2], [0.1, 0.05, 0.0])
    model = Sequential([Input((1,)), layers.Dense(1, use_bias=False, kernel_initializer="ones")])
    model.compile(optimizers.SGD(lr), "mse")
    x, y = np.ones((1, 1), np.float32), np.zeros((1, 1), np.float32)
    kernels = []
    for _ in range(4):
        assert model.optimizer.learning_rate == lr(model.optimizer.iterations)
        model.train_on_batch(x, y)
        kernels.append(float(model.layers[0].kernel.numpy()[0, 0]))
    # w -= lr * 2w with lr 0.1 at steps 0 and 1, 0.05 at step 2, 0.0 from step 3 on
    assert kernels == pytest.approx([0.8, 0.64, 0.576, 0.576])
    config = model.optimizer.get_config()
    assert config["learning_rate"]["class_name"] == "PiecewiseConstantDecay"
    again = optimizers.SGD.from_config(config)
    assert isinstance(again._learning_rate, schedules.PiecewiseConstantDecay)


def test_exposed_as_keras_path():
    import tomei
    assert tomei.keras.optimizers.schedules.ExponentialDecay is schedules.ExponentialDecay


def test_inverse_time_polynomial_and_restarts():
    s = schedules.InverseTimeDecay(0.001, decay_steps=20, decay_rate=1)
    assert [s(step) for step in (0, 20, 60)] == pytest.approx([0.001, 0.0005, 0.00025])
    stairs = schedules.InverseTimeDecay(1.0, 10, 1.0, staircase=True)
    assert [stairs(step) for step in (9, 10, 25)] == pytest.approx([1.0, 0.5, 1 / 3])
    p = schedules.PolynomialDecay(1.0, decay_steps=10, end_learning_rate=0.0, power=2.0)
    assert [p(step) for step in (0, 5, 10, 50)] == pytest.approx([1.0, 0.25, 0.0, 0.0])
    cyc = schedules.PolynomialDecay(1.0, 10, end_learning_rate=0.0, cycle=True)
    assert cyc(15) == pytest.approx(0.25)  # the second cycle lasts 20 steps
    r = schedules.CosineDecayRestarts(1.0, first_decay_steps=10, t_mul=1.0)
    assert r(0) == pytest.approx(1.0) and r(5) == pytest.approx(0.5) and r(10) == pytest.approx(1.0)
    r2 = schedules.CosineDecayRestarts(1.0, first_decay_steps=10)  # t_mul=2: next period 20
    assert r2(10) == pytest.approx(1.0) and r2(20) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="first_decay_steps"):
        schedules.CosineDecayRestarts(1.0, 0)


def test_an_array_of_steps_gives_a_float32_tensor_to_plot():
    s = schedules.InverseTimeDecay(0.001, decay_steps=20_000, decay_rate=1)
    rates = s(np.linspace(0, 100_000))
    assert rates.shape == (50,) and rates.dtype == np.float32
    np.testing.assert_allclose(rates.numpy()[[0, -1]], [0.001, 0.001 / 6], rtol=1e-6)
    for schedule in (schedules.ExponentialDecay(0.1, 3, 0.5),
                     schedules.PiecewiseConstantDecay([1, 3], [0.1, 0.05, 0.01]),
                     schedules.CosineDecay(0.0, 4, warmup_target=0.1, warmup_steps=3),
                     schedules.PolynomialDecay(0.1, 5), schedules.CosineDecayRestarts(0.1, 3)):
        many = schedule(np.arange(12)).numpy()
        np.testing.assert_allclose(many, [schedule(k) for k in range(12)], rtol=1e-6)
