"""A convolution, its bias, ReLU and a 2x2 max-pool as one op: ``conv2d_bias_relu_max_pool``.

The keras-io "Simple MNIST convnet" runs ``Conv2D(..., activation="relu")`` then
``MaxPooling2D(2)`` twice. Layer by layer that is three ops (tomei/engine/conv_ops.py
``conv2d``, nn_ops ``bias_relu``, conv_ops ``max_pool2d``), each reading and writing the
whole conv output, (N, OH, OW, O): 11 MB per batch of 128 for the first convolution, where
the arithmetic is small. This op gives the same numbers in fewer passes over memory:

    out = max_pool2d(relu(conv2d(x, filters) + bias), 2x2, stride 2, VALID)

How, and why it is the same (docs/convolution.md, "Fusing conv, ReLU and pooling"):

- ReLU and the max commute: ``max(relu(a), relu(b)) = relu(max(a, b))``, and the bias is
  the same for the four values of a window. So the op keeps, per pooled value, the largest
  ``y + bias`` of its 2x2 window and which of the four won (``winner``, int8, t = a*2 + b
  for conv output row 2i + a, column 2j + b; ties go to the earlier, as ``max_pool2d``),
  then applies ReLU once.
- Backward: d out / d y is 1 at the winner when ``out > 0`` and 0 everywhere else (a pooled
  value of 0 came through ReLU's flat side, whose slope tomei takes as 0). So the pooled
  gradient g goes to one conv output per window, and from there as in ``conv2d``: the
  kernel gradient is ``cols^T @ dy``, the bias gradient the sum of dy, the input gradient
  col2im of ``dy @ W^T``. With an odd conv output (11x11 -> 5x5) the last row and column
  belong to no window: they get gradient 0 (VALID pooling drops them), so the im2col
  schedules below do not compute them at all (a 10x10 convolution output).

Three schedules of that formula, the first always there, the others when the fused
kernels are loaded (tomei/engine/fused.py; TOMEI_FUSED=0 keeps NumPy):

1. NumPy (the reference, and the GPU): im2col + product (conv_ops), then the four window
   positions as four strided views, compared as in ``max_pool2d``.
2. Small window (``KH*KW*C <= DIRECT_TAPS``, the first layer of a gray-image network: 9):
   ``fused.conv_relu_pool_direct`` computes each window's four conv outputs from the input
   directly and writes only the pooled output and winners; the kernel and bias gradients
   (``fused.conv_relu_pool_direct_grad``) read the input patches again. No (N, OH, OW, O)
   array in either direction, and no im2col copy.
3. Larger window (the second layer: 3*3*32 = 288): im2col and the BLAS product as
   ``conv2d`` (``conv_ops._conv_forward``/``_conv_backward``, so also Winograd's shortcut
   for a large 3x3 convolution), then one compiled epilogue (bias, ReLU, pool:
   ``fused.bias_relu_pool_forward``) instead of two passes. Backward (and schedule 2's when
   the input needs a gradient): ``fused.conv_relu_pool_sparse_grad`` adds each live pooled
   gradient g straight in: g times its winner's input window onto the kernel gradient, g
   times the kernel onto that input window. The conv output's gradient dy is at least 3/4
   zeros (one winner in four, fewer after ReLU and after a Dropout downstream), so this is
   under a quarter of the multiply-adds of the two products over dy, with no dy, no im2col
   copy and no col2im pass: 6.6 ms instead
   of 9.1 for the MNIST convnet's second layer at batch 128 with a dense g, and 1.5 to 2 ms
   in training (g from Dropout + Dense), on the 2-core build machine.
"""
from __future__ import annotations

import numpy as np

from tomei.engine import conv_ops, cores
from tomei.engine.ops import align, numbers
from tomei.engine.tensor import Tensor, record

#: Windows of at most this many values (KH*KW*C) are computed directly (schedule 2 above);
#: larger ones by im2col and a product. Measured on the 2-core build machine, batch 128: the
#: MNIST convnet's first convolution (9 values) took 1.8 ms forward in this op where conv2d,
#: bias+ReLU and max_pool2d took 5.4 (benchmarks/profile_convnet.py). Forward plus backward
#: of this op, direct against im2col (the input needing no gradient): 5.2 against 7.1 ms at
#: 9 values (32x32x1 images, 32 filters), 8.6 against 9.5 at 27 (32x32x3), but 6.1 against
#: 5.7 at 18 (32x32x2, 16 filters): near this limit the two are close.
DIRECT_TAPS = 32


def conv2d_bias_relu_max_pool(input, filters, bias=None, strides=1, padding="VALID",
                              dilations=None, name=None) -> Tensor:
    """``max_pool2d(relu(conv2d(input, filters) + bias), 2, 2, "VALID")`` in one op.

    Args:
        input: (N, H, W, C) float Tensor or array (NHWC).
        filters: (KH, KW, C, O) float Tensor or array (HWIO), as ``conv_ops.conv2d``.
        bias: (O,) Tensor or array, or None for no bias.
        strides, padding, dilations: the convolution's, as ``conv_ops.conv2d`` ("VALID",
            "SAME" or explicit pairs). The pool is fixed: 2x2 windows, stride 2, no padding.
        name: ignored, as in eager TensorFlow.

    Returns:
        (N, OH // 2, OW // 2, O) Tensor of the input's dtype, (OH, OW) being the
        convolution's output size. Values and gradients equal (to rounding) those of
        ``conv2d``, ``nn_ops.bias_relu`` and ``max_pool2d`` applied in turn.

    Raises:
        ValueError: wrong ranks, channels that disagree, a bias not of shape (O,), bad
            strides/padding, or a conv output smaller than the 2x2 pool.
        NotImplementedError: grouped filters (as ``conv2d``).

    Formulas: the module docstring; the convolution and its gradient are conv_ops's
    (im2col, Chellapilla et al. 2006), the pool's is ``max_pool2d``'s.
    """
    op = "conv2d_bias_relu_max_pool"
    x, w = numbers(input, op, "input"), numbers(filters, op, "filters")
    b = None if bias is None else numbers(bias, op, "bias")
    x, w, *rest = align(x, w, *([b] if b is not None else []))
    b = rest[0] if rest else None
    conv_ops._check_conv_shapes(x, w, op)
    n, h, wd, c = x.shape
    kh, kw, _, o = w.shape
    if b is not None and b.shape != (o,):
        raise ValueError(f"{op}: argument 'bias' must have shape ({o},) (one value per output "
                         f"channel); received shape {b.shape}.")
    strides = conv_ops._spatial(strides, "strides", op)
    dilations = conv_ops._spatial(dilations, "dilations", op, allow_none=True)
    pads, (oh, ow) = conv_ops._geometry((h, wd), (kh, kw), strides, dilations, padding, op)
    ph, pw = oh // 2, ow // 2
    if ph < 1 or pw < 1:
        raise ValueError(f"{op}: the convolution's output ({oh}, {ow}) is smaller than the "
                         f"2x2 pool; the output would be empty.")
    # only the conv outputs a window reads: an odd last row/column (11x11 -> 10x10) is skipped
    geometry = ((kh, kw), strides, dilations, (2 * ph, 2 * pw))
    steps = strides + dilations  # (sh, sw, dh, dw), as the kernels take them

    xp = conv_ops._pad(x.value, pads)
    w_mat = w.value.reshape(kh * kw * c, o)
    b_vec = b.value if b is not None else np.zeros_like(w.value, shape=(o,))
    k = conv_ops._kernels(xp, w_mat, b_vec)
    direct = k is not None and kh * kw * c <= DIRECT_TAPS
    out = np.empty_like(w.value, shape=(n, ph, pw, o), dtype=x.dtype)
    winner = np.empty_like(out, dtype=np.int8)
    saved = None
    if direct:  # schedule 2: one pass from the input to the pooled output
        cores.over_batch(k.conv_relu_pool_direct, n, xp, w_mat, b_vec, kh, kw, *steps, out,
                         winner, work=out.size * 4 * kh * kw * c)
    else:  # as conv2d: im2col and a product (or Winograd's shortcut), (N, 2*PH, 2*PW, O)
        y, saved = conv_ops._conv_forward(xp, w.value, geometry)
        if k is not None:  # schedule 3: the compiled epilogue
            cores.over_batch(k.bias_relu_pool_forward, n, y, b_vec, out, winner, work=y.size)
            saved = None  # the compiled backward reads the input, not the forward's copies
        else:  # schedule 1: NumPy, four strided views of the 2x2 windows
            _pool_reference(y + b_vec, out, winner)

    def backward(g):
        grad_x = None
        fast = k is not None and conv_ops._kernels(g, out) is not None
        if fast and direct and not x.tracked:  # the gradients straight from the input patches
            grad_w, grad_b = _in_parts(k.conv_relu_pool_direct_grad, n,
                                       work=g.size * 4 * kh * kw * c,
                                       args=(xp, g, out, winner, kh, kw, *steps),
                                       sums=(w_mat.shape, (o,)), dtype=g.dtype)
        elif fast:  # each pooled gradient added straight onto its winner's inputs and weights
            grad_xp = np.empty(xp.shape if x.tracked else (0, 0, 0, 0), g.dtype)
            grad_w_t, grad_b = _in_parts(
                k.conv_relu_pool_sparse_grad, n, work=g.size * 2 * w_mat.shape[0],
                args=(xp, g, out, winner, np.ascontiguousarray(w_mat.T), kh, kw, *steps,
                      x.tracked, grad_xp),
                sums=(w_mat.T.shape, (o,)), dtype=g.dtype)
            grad_w = grad_w_t.T
            if x.tracked:
                grad_x = conv_ops._crop(grad_xp, pads, (h, wd))
        else:  # NumPy: the conv output's gradient dy, then conv2d's backward from it
            grad_y = np.empty_like(g, shape=(n, 2 * ph, 2 * pw, o))
            grad_b = _unpool_reference(g, out, winner, grad_y)
            dxp, grad_w = conv_ops._conv_backward(
                grad_y, saved or ("im2col", conv_ops._im2col(xp, *geometry)), xp, w.value,
                geometry, x.tracked, w.tracked)
            grad_x = None if dxp is None else conv_ops._crop(dxp, pads, (h, wd))
        grad_w = grad_w.reshape(w.shape) if w.tracked else None
        if b is None:
            return grad_x, grad_w
        return grad_x, grad_w, (grad_b if b.tracked else None)
    return record(out, (x, w) if b is None else (x, w, b), backward)


def _pool_reference(y, out, winner):
    """NumPy: ``out = relu(max of each 2x2 window of y)`` and the winning position, as
    ``conv_ops.max_pool2d``'s loop (strictly larger wins, so ties keep the earlier; a NaN
    spreads, as ``np.maximum``). ``y`` (N, OH, OW, O); an odd last row/column is left out."""
    ph, pw = out.shape[1], out.shape[2]
    windows = [y[:, a:2 * ph:2, b:2 * pw:2, :] for a in (0, 1) for b in (0, 1)]
    out[...] = windows[0]
    winner[...] = 0
    for t, tap in enumerate(windows[1:], start=1):
        larger = tap > out
        np.maximum(out, tap, out=out)
        winner[larger] = t
    np.maximum(out, 0, out=out)  # ReLU, once per pooled value


def _unpool_reference(g, out, winner, grad_y):
    """NumPy: ``grad_y`` (N, OH, OW, O) set to 0, then each pooled gradient whose output is
    > 0 put on its winner; returns the bias gradient (the sum of those gradients)."""
    ph, pw = out.shape[1], out.shape[2]
    live = g * (out > 0)
    grad_y[...] = 0
    for t, (a, b) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
        grad_y[:, a:2 * ph:2, b:2 * pw:2, :] = (winner == t) * live
    return live.sum(axis=(0, 1, 2))


def _in_parts(kernel, n, work, args, sums, dtype):
    """``kernel(*args, *partials, start, stop)`` over parts of the batch, each part on one
    core (tomei/engine/cores.py) with its own zeroed-by-the-kernel partial sums of the
    ``sums`` shapes; returns the partials added in the order of the parts."""
    found = {}

    def part(lo, hi):
        found[lo] = [np.empty(shape, dtype) for shape in sums]
        kernel(*args, *found[lo], lo, hi)
    cores.over_batch(part, n, work=work)
    totals, *others = [found[lo] for lo in sorted(found)]
    for more in others:
        for total, extra in zip(totals, more):
            total += extra
    return totals
