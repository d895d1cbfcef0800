"""tomei's version, kept apart so that any module can read it without importing the whole
``tomei`` package (which imports everything); also TensorFlow's ``tf.version`` namespace
(``tf.version.VERSION``)."""
__version__ = "0.1.0"
VERSION = __version__  # tf.version.VERSION: tomei's own version
GIT_VERSION = "unknown"  # tf.version.GIT_VERSION: tomei is not built from a TensorFlow git tree
