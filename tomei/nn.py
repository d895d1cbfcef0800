"""TensorFlow's ``tf.nn`` functions: activations, softmax, losses on logits, convolution
and pooling (NHWC).

Each accepts NumPy arrays or Tensors and returns a Tensor (use ``.numpy()``).
"""
import numpy as np

from tomei.engine.nn_ops import (  # noqa: F401
    elu, gelu, leaky_relu, log_softmax, relu, selu, sigmoid, sigmoid_cross_entropy, silu, softmax,
    softmax_cross_entropy, softplus, softsign, sparse_softmax_cross_entropy, tanh,
)
from tomei.engine.ops import convert_to_tensor, transpose
from tomei.keras.losses import check_sparse_labels
from tomei.engine.nn_ops import silu as swish  # noqa: F401
from tomei.engine.conv_ops import (  # noqa: F401
    avg_pool1d, avg_pool2d, conv1d, conv2d, conv2d_transpose, max_pool1d, max_pool2d,
)


def sparse_softmax_cross_entropy_with_logits(labels, logits):
    """Per-sample -log softmax(logits)[label]: integer ``labels`` (N,) against ``logits``
    (N, C); shape (N,), the logits' dtype. Raises ValueError for a label outside [0, C).
    Gradient with respect to the logits: softmax(logits) - onehot(labels)."""
    logits = convert_to_tensor(logits)
    check_sparse_labels(np.asarray(labels), logits.shape[-1], argument="labels")
    return sparse_softmax_cross_entropy(labels, logits)


def softmax_cross_entropy_with_logits(labels, logits, axis=-1):
    """Per-sample -sum(labels * log_softmax(logits)) over ``axis`` (default -1, the classes):
    probability ``labels`` and ``logits`` of the same shape; the result drops that axis.
    Gradient with respect to the logits: softmax(logits) * sum(labels) - labels."""
    logits = convert_to_tensor(logits)
    axis = int(axis) % max(logits.ndim, 1)
    if axis != logits.ndim - 1:  # move the class axis last, where the fused op reads it
        perm = [i for i in range(logits.ndim) if i != axis] + [axis]
        logits, labels = transpose(logits, perm), np.transpose(np.asarray(labels), perm)
    return softmax_cross_entropy(labels, logits)


def sigmoid_cross_entropy_with_logits(labels, logits):
    """Elementwise binary cross-entropy of ``labels`` in [0, 1] against ``logits`` (same
    shape): max(z, 0) - z * t + log(1 + exp(-|z|)), stable for large |z|.
    Gradient with respect to the logits: sigmoid(z) - t."""
    return sigmoid_cross_entropy(labels, logits)
