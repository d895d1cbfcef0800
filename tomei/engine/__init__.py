"""The autodiff engine: Tensor, Variable, GradientTape and differentiable ops.

It knows nothing about Keras; ``tomei.keras`` is built on top of it.
"""
from tomei.engine.tensor import GradientTape, Tensor, Variable  # noqa: F401
from tomei.engine import ops, nn_ops  # noqa: F401  (ops connects the Tensor operators)
