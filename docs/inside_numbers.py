"""Print the numbers of docs/inside.md: one training step of the tutorial model, up close.

    python docs/inside_numbers.py            # needs Fashion-MNIST (tomei datasets fetch fashion_mnist)

Four real Fashion-MNIST training images go through the tutorial's model
(Flatten -> Dense(128, relu) -> Dropout(0.2) -> Dense(10)) after
``tomei.keras.utils.set_random_seed(0)``; ``tomei.inspect.step`` records the forward values,
the ReLU and dropout masks, the softmax, the loss, the gradients and one Adam update. The model
itself is left unchanged (``apply=False``). Exit code 0, or 1 when the dataset is missing.
"""
import sys

import numpy as np

import tomei
from tomei.keras import layers

N = 4


def main() -> int:
    from tomei.keras.datasets import fashion_mnist
    try:
        (x_train, y_train), _ = fashion_mnist.load_data()
    except Exception as exc:  # noqa: BLE001
        print(f"Fashion-MNIST is not available: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    names = fashion_mnist.CLASS_NAMES
    np.set_printoptions(precision=4, suppress=True, linewidth=100)

    tomei.keras.utils.set_random_seed(0)
    model = tomei.keras.Sequential([layers.Flatten(input_shape=(28, 28)),
                                    layers.Dense(128, activation="relu"),
                                    layers.Dropout(0.2),
                                    layers.Dense(10)])
    model.compile(optimizer="adam", metrics=["accuracy"],
                  loss=tomei.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    flatten, hidden, dropout, out = (layer.name for layer in model.layers)

    x = x_train[:N] / 255.0
    y = y_train[:N]
    s = tomei.inspect.step(model, x, y)
    values = dict(s["layers"])

    print("## 1. The batch")
    print(f"x: {x_train[:N].shape} {x_train.dtype} -> x / 255.0: {x.shape} float64, "
          f"cast to float32 by the first layer")
    print(f"labels y: {y.tolist()} = {[names[i] for i in y]}")
    print(f"image 0: mean pixel {x[0].mean():.4f}, {int((x[0] > 0).sum())} of 784 pixels not 0")

    print("\n## 2. Shapes, layer by layer")
    for name, value in s["layers"]:
        print(f"{name:10s} {value.shape}")
    for v in model.trainable_variables:
        print(f"weight {v.path:16s} {v.shape}")
    print(f"parameters: {model.count_params():,}")

    print("\n## 3. Dense(128) and its ReLU mask")
    kernel, bias = model.layers[1].get_weights()
    z = values[flatten] @ kernel + bias
    print(f"z = x @ kernel + bias, image 0, units 0-7: {z[0, :8]}")
    print(f"relu(z),              image 0, units 0-7: {values[hidden][0, :8]}")
    relu = s["masks"][hidden]
    print(f"ReLU mask: units with z > 0 per image: {relu.sum(1).tolist()} of 128")

    print("\n## 4. Dropout(0.2) mask (training=True)")
    keep = s["masks"][dropout]
    print(f"kept units per image: {keep.sum(1).tolist()} of 128 (expected 0.8 * 128 = 102.4)")
    print(f"image 0, units 0-7 kept: {keep[0, :8].astype(int).tolist()}")
    print(f"image 0, units 0-7 after dropout: {values[dropout][0, :8]} (kept x 1/0.8 = 1.25)")
    both = int((keep & relu).sum())
    print(f"units passing both masks: {both} of {N * 128}")

    print("\n## 5. Logits, softmax, loss")
    logits, probs = s["outputs"], s["probabilities"]
    print(f"logits image 0: {logits[0]}")
    print(f"softmax image 0: {probs[0]} (sum {probs[0].sum():.4f})")
    print(f"predicted classes: {probs.argmax(1).tolist()}, true: {y.tolist()}")
    p_true = probs[np.arange(N), y]
    print(f"p(true class) per image: {p_true}")
    print(f"-log p(true) per image:  {-np.log(p_true)}")
    print(f"loss = mean = {s['loss']:.4f}  (a uniform guess gives ln 10 = {np.log(10):.4f})")

    print("\n## 6. Gradients")
    delta = (probs - np.eye(10)[y]) / N
    print(f"dloss/dlogits image 0 = (softmax - one_hot) / {N}: {delta[0]}")
    for path, g in s["gradients"].items():
        print(f"grad {path:16s} {g.shape!s:10s} norm {np.linalg.norm(g):.4f}")
    g_hidden = s["gradients"][f"{hidden}/kernel"]
    dead = int((np.abs(g_hidden).sum(0) == 0).sum())
    print(f"columns of {hidden}/kernel with zero gradient (unit off or dropped in all 4 images): "
          f"{dead} of 128")
    print(f"grad {out}/bias = column sums of dloss/dlogits: {s['gradients'][f'{out}/bias']}")

    print("\n## 7. One Adam update (learning_rate 0.001, beta_1 0.9, beta_2 0.999, epsilon 1e-7)")
    c = int(y[0])
    g = float(s["gradients"][f"{out}/bias"][c])
    m = float(s["optimizer_state"][f"{out}/bias"]["momentum"][c])
    v = float(s["optimizer_state"][f"{out}/bias"]["velocity"][c])
    before = float(s["weights_before"][f"{out}/bias"][c])
    after = float(s["weights_after"][f"{out}/bias"][c])
    print(f"{out}/bias[{c}]: g = {g:.6f}")
    print(f"m = 0.1 * g = {m:.6e}, v = 0.001 * g^2 = {v:.6e}")
    lr_t = 0.001 * np.sqrt(1 - 0.999) / (1 - 0.9)
    print(f"lr_t = 0.001 * sqrt(1 - 0.999) / (1 - 0.9) = {lr_t:.6f}")
    print(f"update = -lr_t * m / (sqrt(v) + 1e-7) = {-lr_t * m / (np.sqrt(v) + 1e-7):.6f}")
    print(f"bias before {before:.6f} -> after {after:.6f} (change {after - before:.6f})")
    moved = np.concatenate([u.ravel() for u in s["updates"].values()])
    grads = np.concatenate([gr.ravel() for gr in s["gradients"].values()])
    nonzero = grads != 0
    print(f"weights with a nonzero gradient: {int(nonzero.sum()):,} of {grads.size:,}; "
          f"their |update| is between {np.abs(moved[nonzero]).min():.6f} and "
          f"{np.abs(moved[nonzero]).max():.6f}")
    print(f"optimizer iteration after the step: {s['iteration']}; model unchanged: "
          f"{all(np.array_equal(w.numpy(), s['weights_before'][w.path]) for w in model.trainable_variables)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
