"""Fused kernels: a few hot element-wise chains as one compiled loop each (optional, numba).

NumPy runs ``m += (g - m) * 0.1`` as several passes over memory, each with a temporary
array. At the tutorial's size (101,770 weights, batches of 32) those passes, not the
arithmetic, are the cost: Adam's update is ~12 passes. A loop compiled by numba (an LLVM
compiler for Python loops over NumPy arrays) reads each value once and does the whole chain
in registers.

**The readable NumPy code stays the reference.** Each kernel below computes exactly one
formula that is written out, in NumPy, in the op or optimizer named in its docstring; that
NumPy version is what runs when numba is not installed or fusion is switched off, and the
tests run both and compare them (``tests/engine/test_fused.py``: equal to 1e-6). Read the
NumPy version to learn the math; these loops only change how it is scheduled. One
exception: the four ``winograd_*`` kernels compute a 3x3 convolution by Winograd's
F(2x2, 3x3), another grouping of the same sums (tomei/engine/conv_ops.py); they are tested
against conv_ops' im2col result (1e-10 in float64, float32 rounding in float32).

Switch (read once, at the first use):

- ``TOMEI_FUSED=auto`` (default): use the kernels when numba can be imported.
- ``TOMEI_FUSED=0`` (also ``off``, ``false``, ``no``): never; everything runs on NumPy.
- In code: :func:`set_mode` (``"auto"`` or ``"off"``); :func:`mode` reads it.

Cost, and when it is paid: nothing at ``import tomei`` (numba is not imported here). The
first training step (``fit``, or an optimizer's first ``apply_gradients``) calls
:func:`kernels`, which imports numba and loads the compiled kernels: the first time ever
that compiles them (seconds) and stores the machine code in a user cache folder
(``$TOMEI_CACHE_DIR``, else ``$XDG_CACHE_HOME/tomei/numba``, else
``~/.cache/tomei/numba``); every later process loads it from there (about half a second
of CPU on the 2-core build machine, mostly numba's own start-up, and ~110 MB of memory,
with SciPy's linalg kept out (:func:`_without_scipy_linalg`);
docs/benchmarks.md). Until that first
training step, ops (for example ``predict`` in a fresh process) use NumPy: they only use
kernels that :func:`loaded` says are already there, so inference never waits for numba.

Every kernel works on C-contiguous float32/float64 arrays (``FLOAT_TYPES``) and writes only
into arrays its caller allocated. The callers pass the same NumPy scalars as the reference
code (``np.float32(1 - beta_1)``, ...), so each operation has NumPy's types; no
``fastmath``, so the same IEEE operations in the same order.
"""
from __future__ import annotations

import contextlib
import os
import sys
import threading
import types

import numpy as np

#: The float types the kernels take (native byte order); anything else stays on NumPy.
FLOAT_TYPES = (np.dtype(np.float32), np.dtype(np.float64))

_MODES = ("auto", "off")
_OFF_WORDS = ("0", "off", "false", "no", "numpy")
_ON_WORDS = ("", "1", "on", "true", "yes", "auto")

_lock = threading.Lock()
_mode = None       # "auto" or "off"; None until read from TOMEI_FUSED
_kernels = None    # the loaded kernels (a SimpleNamespace), once loaded
_failed = None     # why loading failed (str), so it is tried once only


def mode() -> str:
    """``"auto"`` (use numba when it imports) or ``"off"`` (NumPy only).

    Read from ``TOMEI_FUSED`` at the first call unless :func:`set_mode` was called.

    Raises:
        ValueError: ``TOMEI_FUSED`` holds something other than the words above.
    """
    global _mode
    if _mode is None:
        raw = os.environ.get("TOMEI_FUSED", "auto").strip().lower()
        if raw in _OFF_WORDS:
            _mode = "off"
        elif raw in _ON_WORDS:
            _mode = "auto"
        else:
            raise ValueError(f"TOMEI_FUSED must be 'auto' (use numba's fused kernels when "
                             f"installed) or '0'/'off' (NumPy only); received "
                             f"TOMEI_FUSED={os.environ.get('TOMEI_FUSED')!r}.")
    return _mode


def set_mode(value: str) -> None:
    """Switches fusion for this process: ``"auto"`` or ``"off"``.

    Switching off takes effect at once (the ops check before each use). Switching back to
    ``"auto"`` lets the next training step load the kernels.

    Raises:
        ValueError: ``value`` is not ``"auto"`` or ``"off"``.
    """
    global _mode
    if value not in _MODES:
        raise ValueError(f"fused mode must be 'auto' or 'off'; received {value!r}.")
    _mode = value


def loaded(*arrays):
    """The kernels if fusion is on and they are already loaded, else None (never loads).
    None also when any of ``arrays`` is not a NumPy array: a GPU (CuPy) array never goes
    to these CPU loops (tomei/engine/device.py)."""
    if _kernels is None or (_mode or mode()) == "off":
        return None
    for a in arrays:
        if type(a) is not np.ndarray:
            return None
    return _kernels


def kernels():
    """Loads the kernels if fusion is on (imports numba; see the module docstring for the
    cost) and returns them, or None when fusion is off or numba cannot be imported.

    A failed import is remembered: it is not retried, and NumPy is used.
    """
    global _kernels, _failed
    if mode() == "off":
        return None
    if _kernels is not None or _failed is not None:
        return _kernels
    with _lock:
        if _kernels is None and _failed is None:
            try:
                _kernels = _compile_all()
            except ImportError as exc:
                _failed = f"numba is not available ({exc})"
    return _kernels


def status() -> str:
    """One line for reports: whether the fused kernels are used, and why not."""
    if mode() == "off":
        return "off (TOMEI_FUSED=0 or set_mode('off')): NumPy only"
    if _kernels is not None:
        return f"on (numba {_kernels.numba_version}, cache {_kernels.cache_dir})"
    if _failed is not None:
        return f"auto, unavailable: {_failed}: NumPy only"
    return "auto, not loaded yet (loaded by the first training step)"


def cache_dir() -> str:
    """Where numba stores the compiled kernels (see the module docstring)."""
    explicit = os.environ.get("TOMEI_CACHE_DIR")
    if explicit:
        return os.path.join(os.path.expanduser(explicit), "numba")
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "tomei", "numba")


# --- the kernels, as plain Python loops (compiled by _compile_all) --------------------------
# Each one is the formula of the NumPy code it names, value by value.

def adam_update(grad, var, m, v, alpha, one_minus_beta_1, one_minus_beta_2, epsilon):
    """Adam's step, in place, on C-contiguous arrays of one shape (taken as flat): the
    formula of ``Adam.update_step`` (tomei/keras/optimizers/adam.py), without amsgrad::

        m += (grad - m) * (1 - beta_1)
        v += (grad * grad - v) * (1 - beta_2)
        var -= alpha * m / (sqrt(v) + epsilon)
    """
    grad, var, m, v = grad.reshape(grad.size), var.reshape(var.size), m.reshape(m.size), \
        v.reshape(v.size)
    for i in range(grad.shape[0]):
        g = grad[i]
        mi = m[i] + (g - m[i]) * one_minus_beta_1
        vi = v[i] + (g * g - v[i]) * one_minus_beta_2
        m[i] = mi
        v[i] = vi
        var[i] -= alpha * mi / (np.sqrt(vi) + epsilon)


def bias_relu_forward(x, bias, out):
    """``out = max(x + bias, 0)`` for x (N, U), bias (U,): the forward of
    ``nn_ops.bias_relu`` (tomei/engine/nn_ops.py). A NaN stays NaN, as ``np.maximum``
    (``s <= 0`` is False for NaN): a NaN weight or input is never turned into 0."""
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            s = x[i, j] + bias[j]
            if s <= 0:
                out[i, j] = 0
            else:
                out[i, j] = s


def bias_relu_backward(g, out, grad_x, grad_bias):
    """``grad_x = g * (out > 0)``, ``grad_bias = grad_x.sum(axis=0)``: the backward of
    ``nn_ops.bias_relu``. Rows are added in order, as NumPy's sum over axis 0 does."""
    for j in range(g.shape[1]):
        grad_bias[j] = 0
    for i in range(g.shape[0]):
        for j in range(g.shape[1]):
            if out[i, j] > 0:
                grad_x[i, j] = g[i, j]
                grad_bias[j] += g[i, j]
            else:
                grad_x[i, j] = 0


def dropout_forward(x, uniform, keep, inv_keep, out, scale):
    """``scale = (uniform < keep) * (1 / keep)``, ``out = x * scale`` on flat arrays: the
    forward of ``nn_ops.dropout`` (the uniform draws come from the same NumPy generator)."""
    for i in range(x.shape[0]):
        if uniform[i] < keep:
            scale[i] = inv_keep
        else:
            scale[i] = 0
        out[i] = x[i] * scale[i]


def sparse_xent_forward(z, labels, probs, loss):
    """Per row of logits z (N, C): ``loss = log(sum(exp(z - max))) - (z - max)[label]`` and
    ``probs = exp(z - max) / sum(...)``: ``nn_ops.sparse_softmax_cross_entropy``'s forward
    and the softmax its backward needs. Returns False, having written nothing, when a label
    is outside [0, C) (the caller then takes the NumPy path and its error)."""
    for i in range(labels.shape[0]):
        if labels[i] < 0 or labels[i] >= z.shape[1]:
            return False
    for i in range(z.shape[0]):
        top = z[i, 0]
        for j in range(1, z.shape[1]):
            if z[i, j] > top:
                top = z[i, j]
        total = z[i, 0] * 0
        for j in range(z.shape[1]):
            e = np.exp(z[i, j] - top)
            probs[i, j] = e
            total += e
        for j in range(z.shape[1]):
            probs[i, j] = probs[i, j] / total
        loss[i] = np.log(total) - (z[i, labels[i]] - top)
    return True


def sparse_xent_backward(probs, labels, g, grad):
    """``grad = (probs - onehot(labels)) * g[:, None]``: the backward of
    ``nn_ops.sparse_softmax_cross_entropy``."""
    for i in range(probs.shape[0]):
        for j in range(probs.shape[1]):
            grad[i, j] = probs[i, j] * g[i]
        grad[i, labels[i]] = (probs[i, labels[i]] - 1) * g[i]


def gather_rows(x, index, out):
    """``out = x[index].astype(out.dtype)`` for a 2-D x: ``data.take``'s batch gather and
    float32 cast (tomei/keras/models/data.py) in one pass instead of a copy and a cast.
    Returns False, having written nothing, when an index is outside [0, len(x)).

    Rows are copied four at a time, value j of each in turn: four memory streams at once
    instead of one, so the reads of rows scattered over a large array wait for memory
    together (14 us instead of 22 us for 32 random MNIST rows of float64 on the build
    machine; docs/benchmarks.md)."""
    n = index.shape[0]
    for i in range(n):
        if index[i] < 0 or index[i] >= x.shape[0]:
            return False
    i = 0
    while i + 4 <= n:
        r0, r1, r2, r3 = index[i], index[i + 1], index[i + 2], index[i + 3]
        for j in range(x.shape[1]):
            out[i, j] = x[r0, j]
            out[i + 1, j] = x[r1, j]
            out[i + 2, j] = x[r2, j]
            out[i + 3, j] = x[r3, j]
        i += 4
    for i in range(i, n):
        row = index[i]
        for j in range(x.shape[1]):
            out[i, j] = x[row, j]
    return True


# --- convolution and pooling (tomei/engine/conv_ops.py) ---------------------------------------
# Images are NHWC; ``xp`` is the padded input (N, Hp, Wp, C); a window's taps are numbered
# t = a * KW + b, row by row, as conv_ops._taps lists them. Each kernel does the images
# start <= n < stop only, so that tomei/engine/cores.py can give parts of a batch to
# different threads (each image's values are written by one part only).

def im2col(xp, kh, kw, sh, sw, dh, dw, cols, start, stop):
    """``cols[n, i, j, (a*KW + b)*C + c] = xp[n, i*sh + a*dh, j*sw + b*dw, c]``, cols
    (N, OH, OW, KH*KW*C): the copy of ``conv_ops._im2col`` (every window as one row)."""
    c = xp.shape[3]
    for n in range(start, stop):
        for i in range(cols.shape[1]):
            for j in range(cols.shape[2]):
                for a in range(kh):
                    for b in range(kw):
                        if c == 1:  # (a gray image: no channel loop, twice as fast)
                            cols[n, i, j, a * kw + b] = xp[n, i * sh + a * dh, j * sw + b * dw, 0]
                            continue
                        at = (a * kw + b) * c
                        for ch in range(c):
                            cols[n, i, j, at + ch] = xp[n, i * sh + a * dh, j * sw + b * dw, ch]


def col2im(tap_slabs, kh, kw, sh, sw, dh, dw, out, start, stop):
    """The adjoint of ``im2col``: ``out`` (N, Hp, Wp, C) set to 0, then each tap's slab of
    ``tap_slabs`` (KH*KW, N, OH, OW, C) added onto the pixels that tap reads:
    ``conv_ops._col2im``, in its order (tap 0 onto every pixel, then tap 1, ...)."""
    for n in range(start, stop):
        out[n] = 0
        for a in range(kh):
            for b in range(kw):
                slab = tap_slabs[a * kw + b, n]
                for i in range(slab.shape[0]):
                    for j in range(slab.shape[1]):
                        for ch in range(slab.shape[2]):
                            out[n, i * sh + a * dh, j * sw + b * dw, ch] += slab[i, j, ch]


# Winograd's F(2x2, 3x3) (conv_ops._winograd_forward/_winograd_backward): tile t of the
# images [start, stop) is t = ((n - start) * TH + ti) * TW + tj, the 2x2 output block whose
# top-left output is (2*ti, 2*tj), read from the 4x4 input block at the same corner. A
# tile's 16 transformed values per channel lie together, (tiles, 16, channels), so each
# kernel works on one small block of memory at a time (docs/convolution.md, "Winograd").
# Each is one transform of Lavin & Gray (2016), value by value, channels innermost.

def winograd_input(xp, th, tw, v, start, stop):
    """``v[t, 4*r + s, c] = (B^T d B)[r, s]`` for each tile t's 4x4 input block ``d``
    (channel c) of ``xp`` (N, Hp, Wp, C); v (tiles, 16, C).
    B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]."""
    hp, wp, c = xp.shape[1], xp.shape[2], xp.shape[3]
    zero = np.zeros(1, v.dtype)[0]
    for n in range(start, stop):
        for ti in range(th):
            for tj in range(tw):
                t = ((n - start) * th + ti) * tw + tj
                for s in range(4):                   # rows: B^T d, column s of the block
                    i, j = 2 * ti, 2 * tj + s
                    if j < wp and i + 3 < hp:
                        for ch in range(c):
                            d0, d1 = xp[n, i, j, ch], xp[n, i + 1, j, ch]
                            d2, d3 = xp[n, i + 2, j, ch], xp[n, i + 3, j, ch]
                            v[t, s, ch] = d0 - d2
                            v[t, 4 + s, ch] = d1 + d2
                            v[t, 8 + s, ch] = d2 - d1
                            v[t, 12 + s, ch] = d1 - d3
                    else:                            # past the edge: those pixels are 0
                        for ch in range(c):
                            d0 = xp[n, i, j, ch] if j < wp else zero
                            d1 = xp[n, i + 1, j, ch] if j < wp else zero
                            d2 = xp[n, i + 2, j, ch] if j < wp and i + 2 < hp else zero
                            d3 = xp[n, i + 3, j, ch] if j < wp and i + 3 < hp else zero
                            v[t, s, ch] = d0 - d2
                            v[t, 4 + s, ch] = d1 + d2
                            v[t, 8 + s, ch] = d2 - d1
                            v[t, 12 + s, ch] = d1 - d3
                for r in range(4):                   # columns: (B^T d) B, in place
                    for ch in range(c):
                        e0, e1 = v[t, 4 * r, ch], v[t, 4 * r + 1, ch]
                        e2, e3 = v[t, 4 * r + 2, ch], v[t, 4 * r + 3, ch]
                        v[t, 4 * r, ch] = e0 - e2
                        v[t, 4 * r + 1, ch] = e1 + e2
                        v[t, 4 * r + 2, ch] = e2 - e1
                        v[t, 4 * r + 3, ch] = e1 - e3


def winograd_output(m, th, tw, y, start, stop):
    """Each tile's 2x2 output block ``A^T M A`` of its 4x4 products ``m[t, 4*r + s, o]``,
    written into ``y`` (N, OH, OW, O) (rows and columns past the edge dropped); m (tiles,
    16, O) is overwritten. A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]."""
    oh, ow, o = y.shape[1], y.shape[2], y.shape[3]
    for n in range(start, stop):
        for ti in range(th):
            for tj in range(tw):
                t = ((n - start) * th + ti) * tw + tj
                for s in range(4):                   # rows: A^T m, into rows 0 and 1
                    for k in range(o):
                        m0, m1, m2, m3 = m[t, s, k], m[t, 4 + s, k], m[t, 8 + s, k], m[t, 12 + s, k]
                        m[t, s, k] = m0 + m1 + m2
                        m[t, 4 + s, k] = m1 - m2 - m3
                for r in range(2):                   # columns: (A^T m) A
                    i, j = 2 * ti + r, 2 * tj
                    if i >= oh:
                        continue
                    for k in range(o):
                        y[n, i, j, k] = m[t, 4 * r, k] + m[t, 4 * r + 1, k] + m[t, 4 * r + 2, k]
                    if j + 1 < ow:
                        for k in range(o):
                            y[n, i, j + 1, k] = m[t, 4 * r + 1, k] - m[t, 4 * r + 2, k] - m[t, 4 * r + 3, k]


def winograd_grad_output(g, th, tw, dm, start, stop):
    """The adjoint of ``winograd_output``: ``dm[t, 4*r + s, o] = (A q A^T)[r, s]`` for each
    tile's 2x2 block ``q`` of the output gradient ``g`` (N, OH, OW, O), 0 past the edge;
    dm (tiles, 16, O)."""
    oh, ow, o = g.shape[1], g.shape[2], g.shape[3]
    for n in range(start, stop):
        for ti in range(th):
            for tj in range(tw):
                t = ((n - start) * th + ti) * tw + tj
                for r in range(2):                    # the tile's 2x2 block of g, 0 past
                    for s in range(2):                # the edge, in dm[t, 0, 1, 4, 5]
                        i, j = 2 * ti + r, 2 * tj + s
                        if i < oh and j < ow:
                            for k in range(o):
                                dm[t, 4 * r + s, k] = g[n, i, j, k]
                        else:
                            for k in range(o):
                                dm[t, 4 * r + s, k] = 0
                for k in range(o):
                    q00, q01, q10, q11 = dm[t, 0, k], dm[t, 1, k], dm[t, 4, k], dm[t, 5, k]
                    h10, h11 = q00 + q10, q01 + q11  # rows: h = A q, A = [[1, 0], [1, 1],
                    h20, h21 = q00 - q10, q01 - q11  #   [1, -1], [0, -1]] (h0 = q0, h3 = -q1)
                    dm[t, 0, k] = q00                 # columns: dm = h A^T
                    dm[t, 1, k] = q00 + q01
                    dm[t, 2, k] = q00 - q01
                    dm[t, 3, k] = -q01
                    dm[t, 4, k] = h10
                    dm[t, 5, k] = h10 + h11
                    dm[t, 6, k] = h10 - h11
                    dm[t, 7, k] = -h11
                    dm[t, 8, k] = h20
                    dm[t, 9, k] = h20 + h21
                    dm[t, 10, k] = h20 - h21
                    dm[t, 11, k] = -h21
                    dm[t, 12, k] = -q10
                    dm[t, 13, k] = -q10 - q11
                    dm[t, 14, k] = q11 - q10
                    dm[t, 15, k] = q11


def winograd_grad_input(dv, th, tw, dxp, start, stop):
    """The adjoint of ``winograd_input``: ``dxp`` (N, Hp, Wp, C) set to 0, then each tile's
    ``B dV B^T`` (dV = ``dv[t]`` as 4x4, per channel) added onto its 4x4 input block
    (blocks overlap by 2 pixels and add up; pixels past the edge dropped); dv (tiles, 16,
    C) is overwritten."""
    hp, wp, c = dxp.shape[1], dxp.shape[2], dxp.shape[3]
    for n in range(start, stop):
        dxp[n] = 0
        for ti in range(th):
            for tj in range(tw):
                t = ((n - start) * th + ti) * tw + tj
                for s in range(4):                   # rows: B dV, in place
                    for ch in range(c):
                        v0, v1, v2, v3 = dv[t, s, ch], dv[t, 4 + s, ch], dv[t, 8 + s, ch], dv[t, 12 + s, ch]
                        dv[t, s, ch] = v0
                        dv[t, 4 + s, ch] = v1 - v2 + v3
                        dv[t, 8 + s, ch] = v1 + v2 - v0
                        dv[t, 12 + s, ch] = -v3
                for r in range(4):                   # columns: (B dV) B^T, onto the block
                    i, j = 2 * ti + r, 2 * tj
                    if i >= hp:
                        continue
                    for ch in range(c):
                        dxp[n, i, j, ch] += dv[t, 4 * r, ch]
                        dxp[n, i, j + 1, ch] += dv[t, 4 * r + 1, ch] - dv[t, 4 * r + 2, ch] + dv[t, 4 * r + 3, ch]
                    if j + 2 < wp:
                        for ch in range(c):
                            dxp[n, i, j + 2, ch] += dv[t, 4 * r + 1, ch] + dv[t, 4 * r + 2, ch] - dv[t, 4 * r, ch]
                    if j + 3 < wp:
                        for ch in range(c):
                            dxp[n, i, j + 3, ch] -= dv[t, 4 * r + 3, ch]


def max_pool_forward(xp, kh, kw, sh, sw, out, winner, start, stop):
    """The largest tap of each window, ``out`` (N, OH, OW, C), and which tap it is,
    ``winner``: ``conv_ops.max_pool2d``'s loop, ``larger = tap > out`` (ties keep the earlier
    tap), ``out = maximum(out, tap)`` (so a NaN tap makes the output NaN, as np.maximum)."""
    for n in range(start, stop):
        for i in range(out.shape[1]):
            for j in range(out.shape[2]):
                for ch in range(out.shape[3]):
                    out[n, i, j, ch] = xp[n, i * sh, j * sw, ch]
                    winner[n, i, j, ch] = 0
                for t in range(1, kh * kw):
                    a, b = t // kw, t % kw
                    for ch in range(out.shape[3]):
                        v = xp[n, i * sh + a, j * sw + b, ch]
                        if v > out[n, i, j, ch]:
                            out[n, i, j, ch] = v
                            winner[n, i, j, ch] = t
                        elif v != v:
                            out[n, i, j, ch] = v


def max_pool_backward(g, winner, kh, kw, sh, sw, dxp, start, stop):
    """``dxp`` (N, Hp, Wp, C) set to 0, then tap by tap ``d_tap += (winner == t) * g``: the
    backward of ``conv_ops.max_pool2d`` (each window's gradient ``g`` (N, OH, OW, C) goes to
    its winning pixel), with the channels innermost so the loop runs in vector registers."""
    for n in range(start, stop):
        dxp[n] = 0
        for i in range(g.shape[1]):
            for j in range(g.shape[2]):
                for t in range(kh * kw):
                    a, b = t // kw, t % kw
                    for ch in range(g.shape[3]):
                        if winner[n, i, j, ch] == t:
                            dxp[n, i * sh + a, j * sw + b, ch] += g[n, i, j, ch]


# --- conv2d + bias + ReLU + 2x2 max-pool as one op (tomei/engine/conv_pool.py) -------------
# ``out`` and ``winner`` are (N, PH, PW, O): the pooled output and, per pooled value, which
# of its 2x2 window's conv outputs won, t = a2 * 2 + b2 (conv output row 2*pi + a2, column
# 2*pj + b2). Each kernel is the formula of conv_pool's NumPy code, value by value.

def relu_max_of_four(s0, s1, s2, s3):
    """``(relu(max(s0, s1, s2, s3)), t)``, t the index of the first largest (ties keep the
    earlier, as ``max_pool2d``); NaN if any is NaN (as ``np.maximum``). A helper the kernels
    below call (compiled first, :data:`_HELPERS`); written as selects, so that a loop
    calling it runs in vector registers."""
    best, win = s0, 0
    win = 1 if s1 > best else win
    best = s1 if s1 > best else best
    win = 2 if s2 > best else win
    best = s2 if s2 > best else best
    win = 3 if s3 > best else win
    best = s3 if s3 > best else best
    if (s0 != s0) | (s1 != s1) | (s2 != s2) | (s3 != s3):
        return s0 + s1 + s2 + s3, win
    return (best if best > 0 else 0), win


def window_patches(xp, n, pi, pj, kh, kw, sh, sw, dh, dw, patch):
    """``patch[t]`` (4, KH*KW*C): the im2col row (``im2col``'s order) of each of the four conv
    outputs t of pooled value (pi, pj) of image n. A helper of the kernels below."""
    c = xp.shape[3]
    for t in range(4):
        i, j = 2 * pi + t // 2, 2 * pj + t % 2
        for a in range(kh):
            for b in range(kw):
                for ch in range(c):
                    patch[t, (a * kw + b) * c + ch] = xp[n, i * sh + a * dh, j * sw + b * dw, ch]


def conv_relu_pool_direct(xp, w_mat, bias, kh, kw, sh, sw, dh, dw, out, winner, start, stop):
    """For a small window (few ``KH*KW*C`` values): the four conv outputs of each 2x2 pool
    window computed directly, ``s_t = sum_k patch_t[k] * w_mat[k] + bias`` (``w_mat``
    (KH*KW*C, O)), the largest kept (ties: the earlier) with its winner t, then ReLU: the
    forward of ``conv_pool.conv2d_bias_relu_max_pool`` without writing the (N, OH, OW, O)
    conv output. A NaN among the four makes the output NaN, as ``np.maximum``."""
    c, o_count = xp.shape[3], w_mat.shape[1]
    taps = kh * kw * c
    patch = np.empty((4, taps), out.dtype)    # the four windows' input values
    acc = np.empty((4, o_count), out.dtype)   # their conv outputs, every channel
    for n in range(start, stop):
        for pi in range(out.shape[1]):
            for pj in range(out.shape[2]):
                window_patches(xp, n, pi, pj, kh, kw, sh, sw, dh, dw, patch)
                acc[:] = 0
                for k in range(taps):  # the four sums at once: each weight is read once
                    p0, p1, p2, p3 = patch[0, k], patch[1, k], patch[2, k], patch[3, k]
                    for o in range(o_count):
                        wv = w_mat[k, o]
                        acc[0, o] += p0 * wv
                        acc[1, o] += p1 * wv
                        acc[2, o] += p2 * wv
                        acc[3, o] += p3 * wv
                for o in range(o_count):
                    out[n, pi, pj, o], winner[n, pi, pj, o] = relu_max_of_four(
                        acc[0, o] + bias[o], acc[1, o] + bias[o],
                        acc[2, o] + bias[o], acc[3, o] + bias[o])


def conv_relu_pool_direct_grad(xp, g, out, winner, kh, kw, sh, sw, dh, dw, grad_w, grad_bias,
                               start, stop):
    """The kernel and bias gradients of ``conv_relu_pool_direct`` for the images
    [start, stop), set (not added) into ``grad_w`` (KH*KW*C, O) and ``grad_bias`` (O,):
    each pooled gradient ``g`` whose output is > 0 goes to its winner t: ``grad_bias += g``
    and ``grad_w[k] += g * patch_t[k]`` with that winner's input values. No (N, OH, OW, O)
    array: one 2x2 window at a time (``share[t]`` is g where t won, else 0)."""
    c, o_count = xp.shape[3], g.shape[3]
    taps = kh * kw * c
    patch = np.empty((4, taps), g.dtype)
    share = np.empty((4, o_count), g.dtype)
    grad_w[:] = 0
    grad_bias[:] = 0
    for n in range(start, stop):
        for pi in range(g.shape[1]):
            for pj in range(g.shape[2]):
                for o in range(o_count):
                    live = g[n, pi, pj, o] if out[n, pi, pj, o] > 0 else 0
                    grad_bias[o] += live
                    win = winner[n, pi, pj, o]
                    share[0, o] = live if win == 0 else 0
                    share[1, o] = live if win == 1 else 0
                    share[2, o] = live if win == 2 else 0
                    share[3, o] = live if win == 3 else 0
                window_patches(xp, n, pi, pj, kh, kw, sh, sw, dh, dw, patch)
                for k in range(taps):  # three of the four shares are 0: the sum is exact
                    p0, p1, p2, p3 = patch[0, k], patch[1, k], patch[2, k], patch[3, k]
                    for o in range(o_count):
                        grad_w[k, o] += (p0 * share[0, o] + p1 * share[1, o]) + \
                            (p2 * share[2, o] + p3 * share[3, o])


def bias_relu_pool_forward(y, bias, out, winner, start, stop):
    """From a conv output ``y`` (N, OH, OW, O): ``out = relu(max over each 2x2 window of
    (y + bias))`` and the winner (ties: the earlier; a NaN spreads), for a 2x2/stride-2
    valid pool (an odd last row or column of ``y`` is left out): the epilogue of
    ``conv2d_bias_relu_max_pool`` after its im2col product."""
    for n in range(start, stop):
        for pi in range(out.shape[1]):
            for pj in range(out.shape[2]):
                i, j = 2 * pi, 2 * pj
                for o in range(out.shape[3]):
                    out[n, pi, pj, o], winner[n, pi, pj, o] = relu_max_of_four(
                        y[n, i, j, o] + bias[o], y[n, i, j + 1, o] + bias[o],
                        y[n, i + 1, j, o] + bias[o], y[n, i + 1, j + 1, o] + bias[o])


def conv_relu_pool_sparse_grad(xp, g, out, winner, w_t, kh, kw, sh, sw, dh, dw, want_x,
                               grad_xp, grad_w_t, grad_bias, start, stop):
    """The three gradients of ``conv2d_bias_relu_max_pool`` from its pooled gradient ``g``
    (N, PH, PW, O), for the images [start, stop): each ``g`` whose output is > 0 reaches
    exactly one conv output, its winner (row i, column j), so it is added straight in,
    instead of building the (N, OH, OW, O) conv gradient (at least 3/4 zeros) and
    multiplying it twice (the NumPy code's ``cols^T @ dy`` and ``dy @ W^T`` + col2im).
    For each tap (a, b) of the winner's window, ``x_ab = xp[n, i*sh + a*dh, j*sw + b*dw, :]``
    (C values) and ``k = (a*KW + b)*C`` (its place in an im2col row):

    - ``grad_bias[o] += g`` and ``grad_w_t[o, k:k + C] += g * x_ab`` (``grad_w_t``
      (O, KH*KW*C), the kernel gradient transposed; both set, not added to, here);
    - when ``want_x``: ``grad_xp[n, i*sh + a*dh, j*sw + b*dw, :] += g * w_t[o, k:k + C]``,
      ``grad_xp`` (N, Hp, Wp, C) being set to 0 first and ``w_t`` (O, KH*KW*C) the kernel
      matrix transposed."""
    hp, wp, c = xp.shape[1], xp.shape[2], xp.shape[3]
    x_flat, grad_x_flat = xp.reshape(-1), grad_xp.reshape(-1)
    # with dilation 1 a window row's KW taps are KW*C values side by side: one run each
    run, runs = (kw * c, 1) if dw == 1 else (c, kw)
    grad_w_t[:] = 0
    grad_bias[:] = 0
    for n in range(start, stop):
        if want_x:
            grad_xp[n] = 0
        for pi in range(g.shape[1]):
            for pj in range(g.shape[2]):
                for o in range(g.shape[3]):
                    gv = g[n, pi, pj, o]
                    if not out[n, pi, pj, o] > 0 or gv == 0:
                        continue
                    t = winner[n, pi, pj, o]
                    i, j = 2 * pi + t // 2, 2 * pj + t % 2
                    grad_bias[o] += gv
                    for a in range(kh):
                        for b in range(runs):
                            at = ((n * hp + i * sh + a * dh) * wp + j * sw + b * dw) * c
                            k = (a * kw + b) * c
                            x_run, grad_w_run = x_flat[at:at + run], grad_w_t[o, k:k + run]
                            for m in range(run):
                                grad_w_run[m] += gv * x_run[m]
                            if want_x:
                                w_run, grad_x_run = w_t[o, k:k + run], grad_x_flat[at:at + run]
                                for m in range(run):
                                    grad_x_run[m] += gv * w_run[m]


#: Compiled before the kernels and published under their own names in this module, so that
#: the kernels' calls to them are calls to compiled code.
_HELPERS = (relu_max_of_four, window_patches)

_KERNELS = (adam_update, bias_relu_forward, bias_relu_backward, dropout_forward,
            sparse_xent_forward, sparse_xent_backward, gather_rows, im2col, col2im,
            winograd_input, winograd_output, winograd_grad_output, winograd_grad_input,
            max_pool_forward, max_pool_backward, conv_relu_pool_direct,
            conv_relu_pool_direct_grad, bias_relu_pool_forward, conv_relu_pool_sparse_grad)


@contextlib.contextmanager
def _without_scipy_linalg():
    """While numba loads: ``import scipy.linalg.cython_blas`` fails unless SciPy's linalg is
    already imported.

    At import, ``numba.np.arraymath`` probes for a BLAS by importing
    ``scipy.linalg.cython_blas``, which loads all of ``scipy.linalg`` (85 modules, ~17 MB
    resident) into a process that never uses it: these kernels call no BLAS. With the probe
    failing, numba notes "no BLAS" for one helper of its own (``np.cov``/``np.corrcoef``
    compiled in nopython mode then use a plain loop); numba's ``np.dot`` and ``np.linalg``
    look for SciPy again when they are compiled, so they work as before. The block is
    lifted when numba has loaded, and never touches a process that imported scipy.linalg.
    """
    name = "scipy.linalg.cython_blas"
    if "scipy.linalg" in sys.modules or name in sys.modules:
        yield
        return
    sys.modules[name] = None  # the import system raises ImportError for a None entry
    try:
        yield
    finally:
        if sys.modules.get(name, 0) is None:
            del sys.modules[name]


def _compile_all():
    """Imports numba and wraps each kernel in ``numba.njit(cache=True)`` with tomei's cache
    folder. ``error_model='numpy'`` (a division by 0 gives inf as in NumPy, no Python
    exception check in the loop, which would stop vectorisation); no ``fastmath``, so the
    float operations and their order are NumPy's."""
    with _without_scipy_linalg():
        import numba
        import numba.np.arraymath  # noqa: F401  (its BLAS probe runs here; see below)
    from numba.core import config as numba_config

    folder = cache_dir()
    previous = numba_config.CACHE_DIR
    # numba picks a function's cache folder when the function is wrapped; tomei's folder
    # is set for these wraps only (a NUMBA_CACHE_DIR the user set still wins).
    if not previous:
        numba_config.CACHE_DIR = folder
    jit = numba.njit(cache=True, nogil=True, error_model="numpy")
    try:
        for helper in _HELPERS:
            globals()[helper.__name__] = jit(helper)
        compiled = {f.__name__: jit(f) for f in _KERNELS}
    finally:
        numba_config.CACHE_DIR = previous
    return types.SimpleNamespace(numba_version=numba.__version__,
                                 cache_dir=previous or folder, **compiled)
