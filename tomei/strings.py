"""TensorFlow's ``tf.strings`` functions on NumPy string arrays and Tensors of strings.

``tf.strings.lower(x)`` and ``tf.strings.regex_replace(x, pattern, rewrite)`` return a
Tensor of strings; ``.numpy()`` gives UTF-8 bytes, as in TensorFlow.
"""
from tomei.engine.string_ops import lower, regex_replace  # noqa: F401
