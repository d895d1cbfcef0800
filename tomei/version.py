"""``tf.version``: the version strings TensorFlow scripts print (``tf.version.VERSION``)."""
VERSION = "0.1.0"  # tomei's own version; tomei.__version__ is this value
GIT_VERSION = "unknown"  # tomei is not built from a TensorFlow git tree
