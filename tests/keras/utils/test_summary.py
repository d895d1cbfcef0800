"""summary(): shapes, byte sizes and the Keras 3 table (docs/keras_facts.md, 'model.summary()')."""
from tomei.keras import Input, Sequential, layers
from tomei.keras.utils import summary


def test_format_shape_and_bytes():
    assert summary.format_shape((None, 10)) == "(None, 10)"
    assert summary.format_shape((None,)) == "(None,)"
    assert summary.format_shape(None) == "?"
    assert summary.format_bytes(407080) == "397.54 KB"
    assert summary.format_bytes(0) == "0.00 B"


def test_tutorial_table():
    model = Sequential([Input((28, 28)), layers.Flatten(), layers.Dense(128, activation="relu"),
                        layers.Dropout(0.2), layers.Dense(10)], name="sequential")
    lines = []
    summary.print_summary(model, print_fn=lines.append)
    text = "\n".join(lines)
    assert text.startswith('Model: "sequential"')
    assert "Total params: 101,770 (397.54 KB)" in text and "Non-trainable params: 0 (0.00 B)" in text
    table = [line for line in text.splitlines() if line.startswith(("┏", "┃", "│", "└"))]
    assert table and all(len(line) == 76 for line in table)
