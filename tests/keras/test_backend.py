"""keras.backend: floatx, epsilon, clear_session."""
from tomei.keras import backend, layers


def test_floatx_and_epsilon():
    assert backend.floatx() == "float32"
    assert backend.epsilon() == 1e-7


def test_clear_session_restarts_automatic_names():
    backend.clear_session()
    first = [layers.Dense(1).name, layers.Dense(1).name]
    backend.clear_session()
    assert [layers.Dense(1).name, layers.Dense(1).name] == first == ["dense", "dense_1"]
