"""KerasTensor and the graph helpers: flatten/pack_like, topological order, one replay."""
import numpy as np

from tomei.keras import Input, layers
from tomei.keras.layers import keras_tensor as kt


def test_flatten_and_pack_like_are_inverse():
    structure = {"b": [1, (2, 3)], "a": 4}
    flat = kt.flatten(structure)
    assert flat == [4, 1, 2, 3]  # dict values by sorted key
    assert kt.pack_like(structure, [40, 10, 20, 30]) == {"a": 40, "b": [10, (20, 30)]}


def test_is_symbolic():
    t = Input((3,))
    assert kt.is_symbolic(t) and kt.is_symbolic([t, t]) and kt.is_symbolic({"x": t})
    assert not kt.is_symbolic(np.zeros(3)) and not kt.is_symbolic([]) and not kt.is_symbolic([t, 1])


def test_topological_nodes_and_replay_call_a_shared_layer_once_per_call():
    inp = Input((2,))
    dense = layers.Dense(2, kernel_initializer="ones", use_bias=False)
    a = dense(inp)
    out = layers.Add()([a, layers.Dense(2, kernel_initializer="ones", use_bias=False)(a)])
    nodes = kt.topological_nodes(out)
    assert nodes[0] is inp and nodes[-1] is out
    seen = set()
    for i, node in enumerate(nodes):  # every node after its inputs
        assert all(id(p) in seen for p in node.inputs), i
        seen.add(id(node))
    calls = []

    def call(layer, args, kwargs):
        calls.append(layer.name)
        return layer(args)
    (value,) = kt.replay(nodes, [inp], [out], [np.ones((1, 2), np.float32)], call)
    np.testing.assert_allclose(value.numpy(), [[6.0, 6.0]])  # a = 2, b = 4, a + b = 6
    assert calls.count(dense.name) == 1
