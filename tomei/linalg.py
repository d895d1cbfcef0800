"""TensorFlow's ``tf.linalg`` namespace: matrix products and small matrix helpers.

``matmul``, ``matvec``, ``transpose``, ``trace`` and ``norm`` are differentiable (built from
engine ops); ``inv`` and ``det`` are NumPy (``numpy.linalg``) and raise if a gradient is
asked to flow through them, rather than returning a silent None.
"""
import numpy as np

from tomei.engine.ops import (  # noqa: F401
    convert_to_tensor, matmul, reduce_sum, sqrt, square, transpose as _transpose,
)
from tomei.engine.tensor import Tensor, record


def matvec(a, b) -> Tensor:
    """Matrix times vector: a (..., M, N) with b (..., N) gives (..., M)."""
    b = convert_to_tensor(b)
    out = matmul(a, b.reshape(b.shape + (1,)))
    return out.reshape(out.shape[:-1])


def matrix_transpose(a) -> Tensor:
    """Swaps the last two axes of ``a`` (rank >= 2)."""
    a = convert_to_tensor(a)
    if a.ndim < 2:
        raise ValueError(f"matrix_transpose needs a tensor of rank >= 2; received shape {a.shape}.")
    perm = list(range(a.ndim))
    perm[-2], perm[-1] = perm[-1], perm[-2]
    return _transpose(a, perm)


transpose = matrix_transpose  # tf.linalg.transpose swaps the last two axes


def trace(x) -> Tensor:
    """Sum of the main diagonal over the last two axes; differentiable."""
    x = convert_to_tensor(x)
    n = min(x.shape[-2:])
    return reduce_sum(x[..., np.arange(n), np.arange(n)], axis=-1)


def norm(tensor, ord="euclidean", axis=None, keepdims=False) -> Tensor:  # noqa: A002
    """The Euclidean (Frobenius) norm sqrt(sum(x^2)) over ``axis`` (all when None).

    Raises:
        NotImplementedError: any ``ord`` other than 'euclidean', 'fro' or 2 with one axis.
    """
    if ord not in ("euclidean", "fro", 2):
        raise NotImplementedError(f"tomei's linalg.norm computes the Euclidean norm only; "
                                  f"received ord={ord!r}.")
    return sqrt(reduce_sum(square(tensor), axis=axis, keepdims=keepdims))


def eye(num_rows, num_columns=None, dtype="float32") -> Tensor:
    """Identity matrix of shape (num_rows, num_columns or num_rows)."""
    return Tensor(np.eye(num_rows, num_columns, dtype=dtype))


def diag(diagonal) -> Tensor:
    """Square matrix with ``diagonal`` (shape (N,)) on its main diagonal. No gradient."""
    return Tensor(np.diag(convert_to_tensor(diagonal).value))


def diag_part(x) -> Tensor:
    """The main diagonal of a matrix (last two axes). No gradient."""
    return Tensor(np.diagonal(convert_to_tensor(x).value, axis1=-2, axis2=-1).copy())


def _no_gradient_yet(name):
    def backward(g):
        raise NotImplementedError(f"tomei has no gradient for tf.linalg.{name}; compute it "
                                  f"outside the GradientTape or use a differentiable formula.")
    return backward


def inv(x) -> Tensor:
    """Inverse of a square matrix (numpy.linalg.inv). Raises LinAlgError if singular."""
    x = convert_to_tensor(x)
    return record(np.linalg.inv(x.value), (x,), _no_gradient_yet("inv"))


def det(x) -> Tensor:
    """Determinant of a square matrix (numpy.linalg.det)."""
    x = convert_to_tensor(x)
    return record(np.asarray(np.linalg.det(x.value), dtype=x.dtype), (x,), _no_gradient_yet("det"))
