"""A few ``keras.backend`` helpers: floatx, epsilon, clear_session."""
from tomei.config import floatx, set_floatx  # noqa: F401


def epsilon() -> float:
    """The fuzz factor used to clip probabilities: 1e-7."""
    return 1e-7


def clear_session():
    """Restarts automatic layer names ("dense", "dense_1", ...) from zero."""
    from tomei.keras.layers.layer import reset_names
    reset_names()
