"""tomei's version string, kept apart so that any module can read it without importing the
whole ``tomei`` package (which imports everything)."""
__version__ = "0.1.0"
