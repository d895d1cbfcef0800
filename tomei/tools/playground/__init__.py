"""``tomei playground``: draw a digit, look inside the network and watch it learn.

:mod:`.session` holds the model side (predict a drawing, the hidden layer, training in a
thread); :mod:`.server` the local web server and the command; ``static/`` the page.
"""
from tomei.tools.playground.server import main, make_server
from tomei.tools.playground.session import Playground, PlaygroundError, TrainingSettings

__all__ = ["Playground", "PlaygroundError", "TrainingSettings", "main", "make_server"]
