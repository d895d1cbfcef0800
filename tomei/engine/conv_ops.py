"""Convolution and pooling ops (``tf.nn.conv2d`` and friends), forward and gradient side by side.

Layout, as TensorFlow's defaults: images are NHWC, ``(batch, height, width, channels)``;
convolution filters are HWIO, ``(kernel_height, kernel_width, in_channels, out_channels)``.
Only NHWC / NWC is implemented: ``data_format="NCHW"`` raises NotImplementedError.

How a convolution becomes one matrix product ("im2col", Chellapilla, Puri & Simard, 2006,
"High Performance Convolutional Neural Networks for Document Processing"):

1. Pad the input (``padding``), giving ``xp`` of shape (N, Hp, Wp, C).
2. Every output position (n, i, j) looks at a KH x KW window of ``xp`` whose top-left
   corner is (i*stride_h, j*stride_w), with taps ``dilation`` apart:
   ``window[n, i, j, a, b, c] = xp[n, i*sh + a*dh, j*sw + b*dw, c]``.
   ``np.lib.stride_tricks.sliding_window_view`` gives all windows as a *view* (no copy).
3. Lay each window out as one row: ``cols`` of shape (N*OH*OW, KH*KW*C) (this is the copy).
4. The filters, reshaped to (KH*KW*C, O), multiply the rows: ``cols @ W`` is the output,
   (N*OH*OW, O) -> (N, OH, OW, O). All the arithmetic is in this one BLAS product.

The gradient runs the same picture backwards (g = dLoss/dOutput, reshaped to (N*OH*OW, O)):
- dW = cols^T @ g (the windows, weighted by how much each output mattered);
- dcols = g @ W^T, and "col2im" adds each row's entries back onto the input pixels its
  window was read from (overlapping windows add up), then crops the padding off. The
  product is done tap by tap, g @ W[a, b]^T for each of the KH*KW taps (one batched
  ``matmul``, the same arithmetic), so that each tap's share is one contiguous slab that
  col2im adds onto the image with one strided add.

With the fused kernels loaded (tomei/engine/fused.py), a large 3x3 convolution with stride
and dilation 1 takes a shortcut with the same result up to float rounding: Winograd's minimal
filtering F(2x2, 3x3) (Lavin & Gray, 2016, "Fast Algorithms for Convolutional Neural
Networks"). It cuts the output into 2x2 tiles; each tile's 4x4 input block d and the filter g
are transformed, ``V = B^T d B`` and ``U = G g G^T``, multiplied entry by entry (summed over
the input channels: 16 products (tiles x C) @ (C x O)) and transformed back, ``A^T M A``.
That is 16 multiplies per 2x2 outputs and channel pair instead of 36: the three products of
a training step do 2.25x fewer multiply-adds. Its gradient is the same four transforms run
backwards (``_winograd_backward``). The im2col code above is the reference it is tested
against (tests/engine/test_fused.py); docs/convolution.md has the numbers.

A transposed convolution (``conv2d_transpose``) is exactly the gradient of a convolution with
respect to its input, so its forward is "product, then col2im" and its backward is
"im2col, then product": the two ops share the two helpers below.

Output sizes and padding follow TensorFlow's rules (tensorflow.org, ``tf.nn`` "Notes on
padding"): with effective kernel size ``k_eff = (k - 1) * dilation + 1``,
- ``"VALID"``: no padding, ``out = (in - k_eff) // stride + 1``;
- ``"SAME"``: ``out = ceil(in / stride)``, padding ``max((out - 1) * stride + k_eff - in, 0)``
  split with the smaller half first (top/left), the extra pixel last (bottom/right).
"""
from __future__ import annotations

import math

import numpy as np

from tomei.engine import cores, device, fused
from tomei.engine.ops import align, convert_to_tensor, numbers, reshape
from tomei.engine.tensor import Tensor, record

_sliding_window_view = np.lib.stride_tricks.sliding_window_view


# --- arguments, in TensorFlow's conventions -----------------------------------------------------

def _check_format(data_format, expected, op):
    if data_format != expected:
        raise NotImplementedError(
            f"{op}: data_format={data_format!r} is not implemented; tomei supports "
            f"{expected!r} (channels last) only. Transpose your data to {expected}.")


def _spatial(value, name, op, rank=2, allow_none=False) -> tuple:
    """An int, or a list of 1, ``rank`` or ``rank + 2`` ints (TF's strides/ksize/dilations)."""
    if value is None and allow_none:
        return (1,) * rank
    vals = (value,) if isinstance(value, (int, np.integer)) else tuple(np.ravel(value))
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in vals):
        raise TypeError(f"{op}: {name} must be an int or a list of ints; received {value!r}.")
    vals = tuple(int(v) for v in vals)
    if len(vals) == 1:
        vals = vals * rank
    elif len(vals) == rank + 2:
        if vals[0] != 1 or vals[-1] != 1:
            raise ValueError(f"{op}: {name} must be 1 on the batch and channel axes; "
                             f"received {value!r}.")
        vals = vals[1:-1]
    elif len(vals) != rank:
        raise ValueError(f"{op}: {name} must be an int or a list of 1, {rank} or {rank + 2} "
                         f"ints; received {value!r}.")
    if any(v < 1 for v in vals):
        raise ValueError(f"{op}: {name} must be positive; received {value!r}.")
    return vals


def _geometry(in_hw, k_hw, strides, dilations, padding, op):
    """Padding ((top, bottom), (left, right)) and output size (OH, OW) for one conv/pool.

    ``padding`` is "VALID", "SAME" (any case) or explicit pairs: 4 pairs for NHWC, with the
    batch and channel pairs [0, 0], as ``tf.nn.conv2d`` takes them.
    """
    k_eff = [(k - 1) * d + 1 for k, d in zip(k_hw, dilations)]
    if isinstance(padding, str) and padding.upper() == "SAME":
        out = [-(-n // s) for n, s in zip(in_hw, strides)]  # ceil(in / stride)
        pads = []
        for n, o, s, k in zip(in_hw, out, strides, k_eff):
            total = max((o - 1) * s + k - n, 0)
            pads.append((total // 2, total - total // 2))
        return tuple(pads), tuple(out)
    if isinstance(padding, str) and padding.upper() == "VALID":
        pads = ((0, 0),) * len(in_hw)
    elif isinstance(padding, (list, tuple)) and not isinstance(padding, str):
        pairs = [tuple(int(v) for v in p) for p in padding]
        if len(pairs) == len(in_hw) + 2:
            if pairs[0] != (0, 0) or pairs[-1] != (0, 0):
                raise ValueError(f"{op}: explicit padding must be [0, 0] on the batch and "
                                 f"channel axes; received {padding!r}.")
            pairs = pairs[1:-1]
        if len(pairs) != len(in_hw) or any(len(p) != 2 or min(p) < 0 for p in pairs):
            raise ValueError(f"{op}: explicit padding must be {len(in_hw) + 2} pairs of "
                             f"non-negative ints; received {padding!r}.")
        pads = tuple(pairs)
    else:
        raise ValueError(f"{op}: padding must be 'SAME', 'VALID' or a list of pairs; "
                         f"received {padding!r}.")
    out = tuple((n + p[0] + p[1] - k) // s + 1 for n, p, k, s in zip(in_hw, pads, k_eff, strides))
    if min(out) < 1:
        raise ValueError(f"{op}: the window (size {tuple(k_eff)} with dilation) is larger than "
                         f"the padded input {tuple(n + p[0] + p[1] for n, p in zip(in_hw, pads))}"
                         f"; the output would be empty.")
    return pads, out


def _pad(x: np.ndarray, pads, value=0.0) -> np.ndarray:
    """Pads the two spatial axes of an NHWC array (a copy only when there is padding)."""
    if not any(any(p) for p in pads):
        return x
    return np.pad(x, ((0, 0),) + tuple(pads) + ((0, 0),), constant_values=value)


# --- im2col and its adjoint, col2im ------------------------------------------------------------

def _windows(xp: np.ndarray, k_hw, strides, dilations, out_hw) -> np.ndarray:
    """All the windows of ``xp`` (N, Hp, Wp, C) as a read-only view (N, OH, OW, KH, KW, C).

    ``view[n, i, j, a, b, c] = xp[n, i*sh + a*dh, j*sw + b*dw, c]``: a window of the
    dilated size at every position, then every stride-th position and every dilation-th tap.
    """
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = k_hw, strides, dilations, out_hw
    span = ((kh - 1) * dh + 1, (kw - 1) * dw + 1)
    view = _sliding_window_view(xp, span, axis=(1, 2))  # (N, Hp-spanH+1, Wp-spanW+1, C, spanH, spanW)
    view = view[:, :(oh - 1) * sh + 1:sh, :(ow - 1) * sw + 1:sw, :, ::dh, ::dw]
    return view.transpose(0, 1, 2, 4, 5, 3)  # channels last inside each window


def _im2col(xp: np.ndarray, k_hw, strides, dilations, out_hw) -> np.ndarray:
    """The windows as rows: a (N*OH*OW, KH*KW*C) matrix (one copy)."""
    n, c = xp.shape[0], xp.shape[3]
    rows, width = n * out_hw[0] * out_hw[1], k_hw[0] * k_hw[1] * c
    k = _kernels(xp)
    if k is not None:  # the same copy, compiled, the images in parts on every core
        cols = np.empty((n,) + tuple(out_hw) + (width,), xp.dtype)
        cores.over_batch(k.im2col, n, xp, *k_hw, *strides, *dilations, cols, work=cols.size)
        return cols.reshape(rows, width)
    return _windows(xp, k_hw, strides, dilations, out_hw).reshape(rows, width)


def _taps(xp: np.ndarray, k_hw, strides, dilations, out_hw) -> list:
    """For each kernel tap (a, b), row by row: the (N, OH, OW, C) view of the pixels that tap
    reads in every window, ``xp[:, a*dh + i*sh, b*dw + j*sw, :]``. KH*KW views, no copies."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = k_hw, strides, dilations, out_hw
    return [xp[:, a * dh:a * dh + (oh - 1) * sh + 1:sh, b * dw:b * dw + (ow - 1) * sw + 1:sw, :]
            for a in range(kh) for b in range(kw)]


def _col2im(tap_slabs: np.ndarray, padded_shape, k_hw, strides, dilations, out_hw) -> np.ndarray:
    """The adjoint of ``_windows``: adds window entries back onto the pixels they came from.

    ``tap_slabs`` is (KH*KW, N*OH*OW, C): for each kernel tap, the value every window gives
    back to the pixel that tap read. Returns (N, Hp, Wp, C): one strided add per tap.
    """
    n, c = padded_shape[0], padded_shape[3]
    k = _kernels(tap_slabs)
    if k is not None:  # the same additions in the same order, compiled, images in parts
        out = np.empty(padded_shape, tap_slabs.dtype)
        slabs = tap_slabs.reshape((len(tap_slabs), n) + tuple(out_hw) + (c,))
        cores.over_batch(k.col2im, n, slabs, *k_hw, *strides, *dilations, out,
                         work=tap_slabs.size)
        return out
    out = np.zeros_like(tap_slabs, shape=padded_shape)
    for slab, tap in zip(tap_slabs, _taps(out, k_hw, strides, dilations, out_hw)):
        tap += slab.reshape(n, out_hw[0], out_hw[1], c)
    return out


def _kernels(*arrays):
    """The fused kernels (tomei/engine/fused.py) when they are loaded and the arrays are
    C-contiguous NumPy arrays of one float type; else None, and the NumPy code runs."""
    k = fused.loaded(*arrays)
    if k is None or not all(a.dtype == arrays[0].dtype and a.dtype in fused.FLOAT_TYPES and
                            a.flags.c_contiguous for a in arrays):
        return None
    return k


def _per_tap(kernel: np.ndarray) -> np.ndarray:
    """A (KH, KW, A, B) kernel as (KH*KW, B, A): the transposed matrix of each tap, so that
    ``rows @ _per_tap(kernel)`` is every tap's product with the rows at once."""
    kh, kw, a, b = kernel.shape
    return kernel.reshape(kh * kw, a, b).transpose(0, 2, 1)


def _crop(xp: np.ndarray, pads, in_hw) -> np.ndarray:
    (top, _), (left, _) = pads
    return xp[:, top:top + in_hw[0], left:left + in_hw[1], :]


# --- Winograd's F(2x2, 3x3): the fast path of a 3x3 convolution, stride and dilation 1 ----------

#: The filter transform G (4x3) of F(2x2, 3x3) (Lavin & Gray, 2016, eq. 7); the input and
#: output transforms B^T and A^T are only additions and run in fused.py's kernels.
_WINOGRAD_G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])
#: Bytes of one part's transformed tiles at a time (inputs and products), to stay in cache.
_WINOGRAD_CHUNK_BYTES = 1 << 20
#: Convolutions of fewer multiply-adds (counted as im2col's product) stay on im2col: below
#: about a million the transforms' passes cost what the saved multiplies do (2-core build
#: machine, forward + backward: 0.3 M 0.18 ms im2col vs 0.23 Winograd, 0.6 M equal,
#: 7.4 M 1.86 vs 0.95, 100 M 6.7 vs 3.3).
WINOGRAD_WORK = 2_000_000


def _winograd_kernels(xp, w, geometry):
    """The fused kernels when the Winograd path applies: a 3x3 kernel, stride 1, dilation 1,
    at least 4 input channels, ``WINOGRAD_WORK`` multiply-adds or more, and C-contiguous
    float32/float64 arrays with the kernels loaded; else None (im2col runs)."""
    (kh, kw), strides, dilations, (oh, ow) = geometry
    if (kh, kw) != (3, 3) or strides != (1, 1) or dilations != (1, 1) or xp.shape[3] < 4 or \
            xp.shape[0] * oh * ow * 9 * w.shape[2] * w.shape[3] < WINOGRAD_WORK:
        return None
    return _kernels(xp, w)


def _winograd_tiles(c, o, out_hw, dtype):
    """(TH, TW, images per chunk): an image's 2x2 output tiles down and across, and how many
    images' transformed tiles (16 x tiles x (C + O) values) fit in the chunk budget."""
    th, tw = -(-out_hw[0] // 2), -(-out_hw[1] // 2)
    per_image = 16 * th * tw * (c + o) * np.dtype(dtype).itemsize
    return th, tw, max(1, _WINOGRAD_CHUNK_BYTES // per_image)


def _winograd_forward(k, xp, w, out_hw):
    """conv2d's output (N, OH, OW, O) by F(2x2, 3x3), and what the backward needs.

    For each chunk of images (each core its own images): V = the input transform (tiles,
    16, C); for each of the 16 entries ``M[:, e] = V[:, e] @ U[e]`` (U (16, C, O), the
    transformed filters); the output ``A^T M A`` per tile. V stays a chunk-sized buffer in
    the core's cache: the backward transforms the input again rather than keeping V."""
    n, c, o = xp.shape[0], xp.shape[3], w.shape[3]
    th, tw, step = _winograd_tiles(c, o, out_hw, xp.dtype)
    per = th * tw
    g_mat = _WINOGRAD_G.astype(xp.dtype)  # (entries 0, 1 and 1/2: exact in float32)
    u = np.matmul(g_mat, (g_mat @ w.reshape(3, -1)).reshape(4, 3, -1)).reshape(16, c, o)  # G w G^T
    y = np.empty((n,) + tuple(out_hw) + (o,), xp.dtype)

    def part(start, stop):
        rows = min(step, stop - start) * per  # one chunk's tiles
        v, m = np.empty((rows, 16, c), xp.dtype), np.empty((rows, 16, o), xp.dtype)
        for lo in range(start, stop, step):
            hi = min(lo + step, stop)
            v_chunk, m_chunk = v[:(hi - lo) * per], m[:(hi - lo) * per]
            k.winograd_input(xp, th, tw, v_chunk, lo, hi)
            np.matmul(v_chunk.transpose(1, 0, 2), u, out=m_chunk.transpose(1, 0, 2))
            k.winograd_output(m_chunk, th, tw, y, lo, hi)
    cores.over_batch(part, n, work=n * per * 16 * c, product=True)
    return y, (k, u, th, tw, step)


def _winograd_backward(g, saved, xp, need_dx, need_dw):
    """The adjoint of ``_winograd_forward``: (dxp (N, Hp, Wp, C) or None, dw (3, 3, C, O) or
    None) from the output gradient g (N, OH, OW, O) and the padded input xp. Per chunk:
    dM = A g A^T per tile; the input's gradient dV[:, e] = dM[:, e] @ U[e]^T, added back
    onto the input blocks by B dV B^T; the kernel's gradient dU[e] = V[:, e]^T @ dM[:, e]
    (V transformed again from xp), summed over the chunks, then dw = G^T dU G."""
    k, u, th, tw, step = saved
    n, c, o, per = xp.shape[0], u.shape[1], u.shape[2], th * tw
    u_t = np.ascontiguousarray(u.transpose(0, 2, 1))  # (16, O, C)
    dxp = np.empty(xp.shape, g.dtype) if need_dx else None
    sums = {}

    def part(start, stop):
        rows = min(step, stop - start) * per  # one chunk's tiles
        dm, v = np.empty((rows, 16, o), g.dtype), np.empty((rows, 16, c), g.dtype)
        du, du_chunk = np.zeros((16, c, o), g.dtype), np.empty((16, c, o), g.dtype)
        for lo in range(start, stop, step):
            hi = min(lo + step, stop)
            dm_chunk, v_chunk = dm[:(hi - lo) * per], v[:(hi - lo) * per]
            k.winograd_grad_output(g, th, tw, dm_chunk, lo, hi)
            if need_dw:  # (before dV reuses the buffer)
                k.winograd_input(xp, th, tw, v_chunk, lo, hi)
                np.matmul(v_chunk.transpose(1, 2, 0), dm_chunk.transpose(1, 0, 2), out=du_chunk)
                du += du_chunk
            if need_dx:
                np.matmul(dm_chunk.transpose(1, 0, 2), u_t, out=v_chunk.transpose(1, 0, 2))
                k.winograd_grad_input(v_chunk, th, tw, dxp, lo, hi)
        sums[start] = du
    cores.over_batch(part, n, work=n * per * 16 * c, product=True)
    dw = None
    if need_dw:
        du = sum(sums[start] for start in sorted(sums))  # the parts in order: reproducible
        g_t = _WINOGRAD_G.T.astype(g.dtype)
        dw = np.matmul(g_t, (g_t @ du.reshape(4, -1)).reshape(3, 4, -1)).reshape(3, 3, c, o)  # G^T dU G
    return dxp, dw


# --- convolution ---------------------------------------------------------------------------------

def _check_conv_shapes(x, w, op) -> None:
    """ValueError unless ``x`` is (N, H, W, C) and ``w`` (KH, KW, C, O) with the same C;
    NotImplementedError for grouped filters (C a multiple of the filters' in-channels)."""
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError(f"{op} expects a 4-D input (N, H, W, C) and 4-D filters (KH, KW, C, O); "
                         f"received input shape {x.shape} and filters shape {w.shape}.")
    c, c_in = x.shape[3], w.shape[2]
    if c != c_in:
        if c_in and c % c_in == 0:
            raise NotImplementedError(
                f"{op}: grouped convolution (input channels {c}, filters' in-channels "
                f"{c_in}) is not implemented.")
        raise ValueError(f"{op}: the input has {c} channels but the filters expect {c_in} "
                         f"(filters shape {w.shape}).")


def _conv_forward(xp: np.ndarray, w: np.ndarray, geometry):
    """The convolution of the padded input ``xp`` (N, Hp, Wp, C) with ``w`` (KH, KW, C, O):
    (output (N, OH, OW, O), what ``_conv_backward`` needs). im2col and one product
    (module docstring), or Winograd's F(2x2, 3x3) where it applies (``_winograd_kernels``).
    ``geometry`` is (kernel size, strides, dilations, output size); an output size smaller
    than the full one computes only its top-left part (conv_pool: the rows a pool reads)."""
    fast = _winograd_kernels(xp, w, geometry)
    if fast is not None:  # the same convolution by fewer multiplies (module docstring)
        out, winograd = _winograd_forward(fast, xp, w, geometry[3])
        return out, ("winograd", winograd)
    n, o = xp.shape[0], w.shape[3]
    cols = _im2col(xp, *geometry)                      # (N*OH*OW, KH*KW*C)
    out = np.empty_like(cols, shape=(n,) + tuple(geometry[3]) + (o,))  # its own array
    cores.rows_product(cols, w.reshape(-1, o), out=out.reshape(-1, o))  # cols @ W
    return out, ("im2col", cols)


def _conv_backward(g, saved, xp, w, geometry, need_dx, need_dw):
    """The gradients of ``_conv_forward``'s output for the output gradient ``g`` (N, OH, OW,
    O): (d xp (N, Hp, Wp, C) or None, d w (KH, KW, C, O) or None), as asked."""
    kind, data = saved
    if kind == "winograd":  # (g: a NumPy array, as the input, in the kernels' layout)
        return _winograd_backward(np.ascontiguousarray(g, dtype=xp.dtype), data, xp,
                                  need_dx, need_dw)
    g_mat = g.reshape(-1, w.shape[3])
    dxp = dw = None
    if need_dx:  # d out / d cols = W: each tap's share g @ W[a, b]^T, onto the pixels
        dxp = _col2im(cores.rows_product(g_mat, _per_tap(w)), xp.shape, *geometry)
    if need_dw:  # d out / d W = cols: every window weighted by its output's gradient
        dw = cores.shared_rows_product(data, g_mat).reshape(w.shape)  # cols.T @ g_mat
    return dxp, dw


def conv2d(input, filters, strides, padding, data_format="NHWC", dilations=None,
           name=None) -> Tensor:
    """2-D convolution (cross-correlation, as every deep-learning library), ``tf.nn.conv2d``.

    Args:
        input: (N, H, W, C) float Tensor or array.
        filters: (KH, KW, C, O) float Tensor or array (HWIO).
        strides: int or list of 1, 2 or 4 ints (4: batch and channel entries 1).
        padding: "VALID", "SAME", or explicit [[0, 0], [top, bottom], [left, right], [0, 0]].
        data_format: "NHWC" only (NotImplementedError otherwise).
        dilations: int or list of 1, 2 or 4 ints; default 1 (taps ``dilation`` pixels apart).
        name: ignored, as in eager TensorFlow.

    Returns:
        (N, OH, OW, O) Tensor of the input's dtype:
        ``out[n, i, j, o] = sum_{a, b, c} xp[n, i*sh + a*dh, j*sw + b*dw, c] * filters[a, b, c, o]``
        (output sizes: see the module docstring).

    Raises:
        ValueError: wrong ranks, channel counts that disagree, bad strides/padding, or an
            empty output. NotImplementedError: NCHW, or grouped filters (C not equal to the
            filters' in-channels).

    Forward: im2col + one product; backward: two products + col2im (module docstring;
    large 3x3 convolutions take Winograd's shortcut there).
    """
    x, w = align(numbers(input, "conv2d", "input"), numbers(filters, "conv2d", "filters"))
    _check_format(data_format, "NHWC", "conv2d")
    _check_conv_shapes(x, w, "conv2d")
    h, wd = x.shape[1:3]
    kh, kw = w.shape[:2]
    strides = _spatial(strides, "strides", "conv2d")
    dilations = _spatial(dilations, "dilations", "conv2d", allow_none=True)
    pads, (oh, ow) = _geometry((h, wd), (kh, kw), strides, dilations, padding, "conv2d")
    geometry = ((kh, kw), strides, dilations, (oh, ow))

    xp = _pad(x.value, pads)
    out, saved = _conv_forward(xp, w.value, geometry)

    def backward(g):
        dxp, dw = _conv_backward(g, saved, xp, w.value, geometry, x.tracked, w.tracked)
        return (None if dxp is None else _crop(dxp, pads, (h, wd))), dw
    return record(out, (x, w), backward)


def conv2d_transpose(input, filters, output_shape, strides, padding="SAME", data_format="NHWC",
                     dilations=None, name=None) -> Tensor:
    """Transposed convolution, ``tf.nn.conv2d_transpose``: the gradient of ``conv2d`` with
    respect to its input, used to upsample ("deconvolution").

    Args:
        input: (N, H, W, C) float Tensor or array.
        filters: (KH, KW, O, C) (note: output channels before input channels, as TF).
        output_shape: (N, OH, OW, O), a list, tuple or 1-D Tensor: the shape of the result,
            which must be one that ``conv2d`` with the same arguments maps to (N, H, W, ...).
        strides, padding, dilations: as ``conv2d`` (those of the convolution being
            transposed); padding defaults to "SAME", as TensorFlow's.
        data_format: "NHWC" only. name: ignored.

    Returns:
        Tensor of ``output_shape``. Each input pixel scatters ``filters`` times its value onto
        a KH x KW patch of the output, ``stride`` pixels apart; overlaps add up.

    Raises:
        ValueError: when conv2d of ``output_shape`` would not give the input's size, or the
            channels disagree. NotImplementedError: NCHW.
    """
    x, w = align(numbers(input, "conv2d_transpose", "input"), numbers(filters, "conv2d_transpose", "filters"))
    _check_format(data_format, "NHWC", "conv2d_transpose")
    out_shape = tuple(int(d) for d in np.ravel(np.asarray(output_shape)))
    if x.ndim != 4 or w.ndim != 4 or len(out_shape) != 4:
        raise ValueError(f"conv2d_transpose expects a 4-D input, 4-D filters (KH, KW, O, C) and "
                         f"a 4-entry output_shape; received {x.shape}, {w.shape}, {out_shape}.")
    n, h, wd, c = x.shape
    kh, kw, o, c_in = w.shape
    if c != c_in or out_shape[3] != o or out_shape[0] != n:
        raise ValueError(f"conv2d_transpose: input {x.shape}, filters {w.shape} (KH, KW, O, C) "
                         f"and output_shape {out_shape} disagree on batch or channels.")
    strides = _spatial(strides, "strides", "conv2d_transpose")
    dilations = _spatial(dilations, "dilations", "conv2d_transpose", allow_none=True)
    out_hw = out_shape[1:3]
    pads, in_hw = _geometry(out_hw, (kh, kw), strides, dilations, padding, "conv2d_transpose")
    if in_hw != (h, wd):
        raise ValueError(f"conv2d_transpose: output_shape {out_shape} is not one that conv2d with "
                         f"these strides/padding maps to the input's size {(h, wd)} (it gives "
                         f"{in_hw}).")
    geometry = ((kh, kw), strides, dilations, (h, wd))
    padded = (n, out_hw[0] + sum(pads[0]), out_hw[1] + sum(pads[1]), o)
    w_mat = w.value.reshape(kh * kw * o, c)           # (KH*KW*O, C)
    x_mat = x.value.reshape(n * h * wd, c)            # one row per input pixel
    tap_slabs = cores.rows_product(x_mat, _per_tap(w.value))  # x_mat @ each tap's matrix
    out = _crop(_col2im(tap_slabs, padded, *geometry), pads, out_hw)

    def backward(g):  # the forward of conv2d: im2col of the gradient, then products
        g_cols = _im2col(_pad(g, pads), *geometry)    # (N*H*W, KH*KW*O)
        dx = cores.rows_product(g_cols, w_mat).reshape(x.shape) if x.tracked else None
        dw = cores.shared_rows_product(g_cols, x_mat).reshape(w.shape) if w.tracked else None
        return dx, dw
    return record(device.array_module(out).ascontiguousarray(out), (x, w), backward)


def conv1d(input, filters, stride, padding, data_format="NWC", dilations=None,
           name=None) -> Tensor:
    """1-D convolution, ``tf.nn.conv1d``: ``conv2d`` on a height-1 image.

    Args:
        input: (N, W, C). filters: (K, C, O). stride: int or list of 1 or 3 ints.
        padding: "VALID", "SAME" or explicit [[0, 0], [left, right], [0, 0]] (Keras's
            "causal" padding is [[0, 0], [(K - 1) * dilation, 0], [0, 0]]).
        data_format: "NWC" only. dilations: int or list; default 1.

    Returns:
        (N, OW, O) Tensor.
    """
    x, w = align(numbers(input, "conv1d", "input"), numbers(filters, "conv1d", "filters"))
    _check_format(data_format, "NWC", "conv1d")
    if x.ndim != 3 or w.ndim != 3:
        raise ValueError(f"conv1d expects a 3-D input (N, W, C) and 3-D filters (K, C, O); "
                         f"received {x.shape} and {w.shape}.")
    stride = _spatial(stride, "stride", "conv1d", rank=1)
    dilations = _spatial(dilations, "dilations", "conv1d", rank=1, allow_none=True)
    if not isinstance(padding, str):  # [[0, 0], [l, r], [0, 0]] or [[l, r]] -> NHWC pairs
        pairs = [tuple(p) for p in padding]
        padding = [pairs[0], (0, 0)] + pairs[1:] if len(pairs) == 3 else [(0, 0)] + pairs
    y = conv2d(reshape(x, (x.shape[0], 1) + x.shape[1:]), reshape(w, (1,) + w.shape),
               (1,) + stride, padding, dilations=(1,) + dilations)
    return reshape(y, (y.shape[0],) + y.shape[2:])


# --- pooling ----------------------------------------------------------------------------------------

def _pool_args(x, ksize, strides, padding, data_format, op):
    _check_format(data_format, "NHWC", op)
    if x.ndim != 4:
        raise ValueError(f"{op} expects a 4-D input (N, H, W, C); received shape {x.shape}.")
    if not isinstance(padding, str):
        raise NotImplementedError(f"{op}: explicit padding lists are not implemented; use "
                                  f"'SAME' or 'VALID' (received {padding!r}).")
    k = _spatial(ksize, "ksize", op)
    strides = _spatial(strides, "strides", op)
    pads, out_hw = _geometry(x.shape[1:3], k, strides, (1, 1), padding, op)
    return k, strides, pads, out_hw


def max_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None) -> Tensor:
    """Max pooling, ``tf.nn.max_pool2d``: the largest value in each KH x KW window.

    Args:
        input: (N, H, W, C). ksize, strides: int or list of 1, 2 or 4 ints.
        padding: "VALID" or "SAME" (padded pixels are -inf, so they never win).
        data_format: "NHWC" only. name: ignored.

    Returns:
        (N, OH, OW, C) Tensor. The gradient goes to the first (in row-major tap order)
        largest pixel of each window, as TensorFlow's; overlapping windows add up.

    Pooling has no product: it runs over the KH*KW taps of the window, each tap being one
    strided view of all windows at once (a 2x2 pool is 4 whole-array ``np.maximum`` calls).
    """
    x = numbers(input, "max_pool2d", "input")
    k, strides, pads, (oh, ow) = _pool_args(x, ksize, strides, padding, data_format, "max_pool2d")
    n, h, wd, c = x.shape
    lowest = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    xp = _pad(x.value, pads, lowest)
    taps = _taps(xp, k, strides, (1, 1), (oh, ow))
    # which tap holds each window's max; int8 is a quarter of float32's memory traffic
    winner = np.zeros_like(xp, shape=(n, oh, ow, c), dtype=np.int8 if len(taps) < 128 else np.int32)
    fast = _kernels(xp)
    if fast is not None:  # this loop, compiled (fused.max_pool_forward), images in parts
        out = np.empty((n, oh, ow, c), xp.dtype)
        cores.over_batch(fast.max_pool_forward, n, xp, *k, *strides, out, winner, work=xp.size)
    else:
        out = taps[0].copy()
        for t, tap in enumerate(taps[1:], start=1):
            larger = tap > out  # strictly: on a tie the earlier tap keeps the win, as TF
            np.maximum(out, tap, out=out)
            winner += larger * (winner.dtype.type(t) - winner)  # where(larger, t, winner), fast

    def backward(g):  # d max / d pixel = 1 for the window's winner, 0 for the others
        fast = _kernels(g)
        if fast is not None:  # this loop, compiled (fused.max_pool_backward), images in parts
            dxp = np.empty(xp.shape, g.dtype)
            cores.over_batch(fast.max_pool_backward, n, g, winner, *k, *strides, dxp,
                             work=dxp.size)
            return (_crop(dxp, pads, (h, wd)),)
        dxp = np.zeros_like(xp, dtype=g.dtype)
        for t, d_tap in enumerate(_taps(dxp, k, strides, (1, 1), (oh, ow))):
            d_tap += (winner == t) * g  # windows may overlap (stride < pool size): add up
        return (_crop(dxp, pads, (h, wd)),)
    return record(out, (x,), backward)


def avg_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None) -> Tensor:
    """Average pooling, ``tf.nn.avg_pool2d``: the mean of each KH x KW window.

    With "SAME" padding the padded pixels are left out of the mean (each window is divided
    by the number of real pixels in it), as TensorFlow and Keras do.

    Args and returns: as :func:`max_pool2d`.
    """
    x = numbers(input, "avg_pool2d", "input")
    k, strides, pads, (oh, ow) = _pool_args(x, ksize, strides, padding, data_format, "avg_pool2d")
    n, h, wd, c = x.shape
    xp = _pad(x.value, pads)
    # how many real pixels each window covers: the same sum over an image of ones
    ones = _pad(np.ones_like(x.value, shape=(1, h, wd, 1)), pads)
    count = sum(_taps(ones, k, strides, (1, 1), (oh, ow)))  # (1, OH, OW, 1)
    total = np.zeros_like(x.value, shape=(n, oh, ow, c))
    for tap in _taps(xp, k, strides, (1, 1), (oh, ow)):
        total += tap
    out = total / count

    def backward(g):  # d mean / d pixel = 1 / count for every pixel of the window
        dxp = np.zeros_like(xp, dtype=g.dtype)
        share = g / count
        for d_tap in _taps(dxp, k, strides, (1, 1), (oh, ow)):
            d_tap += share
        return (_crop(dxp, pads, (h, wd)),)
    return record(out.astype(x.dtype, copy=False), (x,), backward)


def _pool1d(pool, op, input, ksize, strides, padding, data_format):
    x = numbers(input, op, "input")
    _check_format(data_format, "NWC", op)
    if x.ndim != 3:
        raise ValueError(f"{op} expects a 3-D input (N, W, C); received shape {x.shape}.")
    k = _spatial(ksize, "ksize", op, rank=1)
    s = _spatial(strides, "strides", op, rank=1)
    y = pool(reshape(x, (x.shape[0], 1) + x.shape[1:]), (1,) + k, (1,) + s, padding)
    return reshape(y, (y.shape[0],) + y.shape[2:])


def max_pool1d(input, ksize, strides, padding, data_format="NWC", name=None) -> Tensor:
    """Max pooling over (N, W, C), ``tf.nn.max_pool1d``: :func:`max_pool2d` on height 1."""
    return _pool1d(max_pool2d, "max_pool1d", input, ksize, strides, padding, data_format)


def avg_pool1d(input, ksize, strides, padding, data_format="NWC", name=None) -> Tensor:
    """Average pooling over (N, W, C), ``tf.nn.avg_pool1d``: :func:`avg_pool2d` on height 1."""
    return _pool1d(avg_pool2d, "avg_pool1d", input, ksize, strides, padding, data_format)


# --- reshaping helpers for the upsampling and padding layers ------------------------------------

def upsample_nearest2d(input, size) -> Tensor:
    """Repeats each pixel of an NHWC image ``size = (sh, sw)`` times along height and width.

    Returns (N, H*sh, W*sw, C). The gradient of a pixel is the sum over its sh x sw copies.
    """
    x = convert_to_tensor(input)
    sh, sw = size
    n, h, w, c = x.shape
    out = np.broadcast_to(x.value[:, :, None, :, None, :], (n, h, sh, w, sw, c))

    def backward(g):  # every copy's gradient flows back to the one pixel it came from
        return (g.reshape(n, h, sh, w, sw, c).sum(axis=(2, 4)),)
    return record(out.reshape(n, h * sh, w * sw, c), (x,), backward)


_PAD_MODES = {"CONSTANT": "constant", "REFLECT": "reflect", "SYMMETRIC": "symmetric"}


def pad(input, paddings, mode="CONSTANT", constant_values=0) -> Tensor:  # noqa: A002
    """Pads each axis of ``input`` (``tf.pad``).

    Args:
        input: Tensor of rank r, any dtype. paddings: r pairs (before, after) of
            non-negative ints, shape (r, 2).
        mode: "CONSTANT" (default), "REFLECT" (mirror without the edge: [1 2 3] padded by
            2 before is [3 2 1 2 3]; each pad < that axis's size) or "SYMMETRIC" (mirror
            with the edge: [2 1 1 2 3]; each pad <= the size); any case, as TensorFlow.
        constant_values: the fill value of "CONSTANT" mode (default 0), cast to the
            input's dtype.

    Returns:
        The padded Tensor, same dtype, axis i of size before + size + after. Gradient:
        in "CONSTANT" mode the middle part of g (the padding is a constant); in the mirror
        modes each input element gets the sum of g over every place it was copied to.

    Raises:
        ValueError: paddings not r pairs of non-negative ints, an unknown mode, or a
            mirror padding too large for its axis (each naming the argument).
    """
    x = convert_to_tensor(input)
    kind = _PAD_MODES.get(str(mode).upper()) if isinstance(mode, str) else None
    if kind is None:
        raise ValueError(f"pad: argument 'mode' must be one of 'CONSTANT', 'REFLECT', "
                         f"'SYMMETRIC'; received {mode!r}.")
    values = paddings.numpy() if isinstance(paddings, Tensor) else paddings
    pairs = [tuple(int(v) for v in p) for p in np.asarray(values).tolist()] \
        if np.ndim(values) == 2 else []
    if len(pairs) != x.ndim or any(len(p) != 2 or min(p) < 0 for p in pairs):
        raise ValueError(f"pad: argument 'paddings' must be {x.ndim} pairs of non-negative "
                         f"ints (one per axis of the input of shape {x.shape}); received "
                         f"{paddings!r}.")
    if kind == "constant":
        inside = tuple(slice(b, b + d) for (b, _), d in zip(pairs, x.shape))
        return record(np.pad(x.value, pairs, constant_values=constant_values), (x,),
                      lambda g: (g[inside],))
    limit = 0 if kind == "reflect" else 1  # REFLECT: pad < size; SYMMETRIC: pad <= size
    for axis, (pair, size) in enumerate(zip(pairs, x.shape)):
        if max(pair) > size - 1 + limit:
            raise ValueError(f"pad: argument 'paddings' {pair} on axis {axis} is too large "
                             f"for mode {mode!r} and that axis's size {size} (each pad must "
                             f"be {'<' if limit == 0 else '<='} {size}).")
    # for each output place, the (host) index of the input element copied there
    where_from = np.pad(np.arange(x.value.size).reshape(x.shape), pairs, mode=kind)
    source = np.unravel_index(where_from, x.shape)

    def backward(g):  # each input element collects g from every copy of it
        return (device.scatter_add(np.zeros_like(x.value, dtype=g.dtype), source, g),)
    return record(np.pad(x.value, pairs, mode=kind), (x,), backward)


def conv_output_length(length, kernel, stride, padding, dilation=1):
    """Output length of one spatial axis: "valid", "same" or "causal" (Keras's rules).

    Returns None when ``length`` is None (an unknown size stays unknown).
    """
    if length is None:
        return None
    k_eff = (kernel - 1) * dilation + 1
    if padding in ("same", "causal"):
        return math.ceil(length / stride)
    return max((length - k_eff) // stride + 1, 0)
