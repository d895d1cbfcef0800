"""The reference tests: real Keras 3 on the PyTorch backend is the oracle.

Their fixtures (``keras``, ``torch``, ``to_np``, ``fresh_names``) live in tests/conftest.py,
so tests at mirrored paths elsewhere can use them too. When keras (or torch) cannot be
imported these tests FAIL: CI installs them (pip install -e ".[reference]"). Set
TOMEI_ALLOW_NO_KERAS=1 to skip them instead on a machine without them.
"""
