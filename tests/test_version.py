"""tf.version.VERSION is tomei's version."""
import tomei as tf


def test_version():
    assert tf.version.VERSION == tf.__version__ and tf.__version__.count(".") == 2
