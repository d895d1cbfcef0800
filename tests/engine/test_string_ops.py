"""tf.strings.lower / regex_replace on str, bytes, lists, NumPy arrays and Tensors."""
import re
import string

import numpy as np
import pytest

import tomei as tf
from tomei.engine import string_ops


def test_lower_is_ascii_only_by_default_as_tensorflow():
    out = tf.strings.lower(["HeLLo ÉCOLE", b"ABC"])
    assert isinstance(out, tf.Tensor)
    assert out.numpy().tolist() == ["hello École".encode(), b"abc"]  # bytes, as TensorFlow
    assert string_ops.as_strings(out).tolist() == ["hello École", "abc"]
    assert tf.strings.lower("ÀB", encoding="utf-8").numpy() == "àb".encode()
    with pytest.raises(ValueError, match="encoding"):
        tf.strings.lower("A", encoding="latin-1")


def test_regex_replace_keeps_shape_and_handles_the_tutorial_pattern():
    x = np.array([["A<br />b", "c"], ["d, e!", ""]])
    out = tf.strings.regex_replace(x, "<br />", " ")
    assert out.shape == (2, 2) and out.numpy()[0, 0] == b"A b"
    punct = f"[{re.escape(string.punctuation)}]"
    assert tf.strings.regex_replace(tf.Tensor(x), punct, "").numpy().tolist() == \
        [[b"Abr b", b"c"], [b"d e", b""]]
    assert tf.strings.regex_replace("aaa", "a", "b", replace_global=False).numpy() == b"baa"
    assert tf.strings.regex_replace("ab", "(a)(b)", r"\2\1").numpy() == b"ba"


def test_bad_inputs_are_named():
    with pytest.raises(TypeError, match="strings"):
        tf.strings.lower(np.arange(3))
    with pytest.raises(TypeError, match="int"):
        string_ops.as_strings(["a", 3])
    with pytest.raises(ValueError, match="invalid pattern"):
        tf.strings.regex_replace("a", "(", "")
