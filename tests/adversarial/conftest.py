"""The adversarial suite (issue 14): its shared helpers live in adv_helpers.py next to this
file. With pytest's importlib mode a test folder is not on sys.path, so it is added here."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
