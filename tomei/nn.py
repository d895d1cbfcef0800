"""TensorFlow's ``tf.nn`` functions: activations, softmax, losses on logits, convolution
and pooling (NHWC).

Each accepts NumPy arrays or Tensors and returns a Tensor (use ``.numpy()``).
"""
from tomei.engine.nn_ops import (  # noqa: F401
    elu, gelu, leaky_relu, log_softmax, relu, selu, sigmoid, silu, softmax, softplus, softsign,
    sparse_softmax_cross_entropy, tanh,
)
from tomei.engine.nn_ops import silu as swish  # noqa: F401
from tomei.engine.conv_ops import (  # noqa: F401
    avg_pool1d, avg_pool2d, conv1d, conv2d, conv2d_transpose, max_pool1d, max_pool2d,
)


def sparse_softmax_cross_entropy_with_logits(labels, logits):
    """Per-sample cross-entropy of integer ``labels`` (N,) against ``logits`` (N, C)."""
    return sparse_softmax_cross_entropy(labels, logits)


def softmax_cross_entropy_with_logits(labels, logits, axis=-1):
    """Per-sample cross-entropy of probability ``labels`` (N, C) against ``logits`` (N, C)."""
    from tomei.engine.nn_ops import softmax_cross_entropy
    return softmax_cross_entropy(labels, logits)


def sigmoid_cross_entropy_with_logits(labels, logits):
    """Elementwise binary cross-entropy of ``labels`` in [0, 1] against ``logits``."""
    from tomei.engine.nn_ops import sigmoid_cross_entropy
    return sigmoid_cross_entropy(labels, logits)
