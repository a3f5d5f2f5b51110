"""Compiled row-streaming kernels of the guided filter (numba, ``nogil``).

One pass over a band of rows does everything: box sums of the guide/source
products by sliding column sums (float64, so they neither drift nor stripe),
the per-pixel least-squares fit, and the box mean of the coefficients through
a ring buffer of 2 * radius + 1 coefficient rows. Borders are reflected
(:func:`~._borders.reflect`) by index, so nothing is padded or copied.

The kernels are split by what they write: :func:`guided_rows` the filtered
rows, :func:`guided_coefficients` the mean coefficients (for the fast guided
filter), :func:`upsample_apply_rows` the fast filter's rows from them. Each
takes a `fit` tuple ``(self_guided, rgb, eps, first, second, a_index)``
made by ``guided._fit``: ``rgb`` selects the unrolled loops for a self-guided
colour image (the caller's choice, so that tests can compare both paths);
`first`/`second` list the per-pixel products whose window sums the fit needs
(:func:`_add_products`) and `a_index` the plane of each coefficient a[g, c].
"""

from __future__ import annotations

import numpy as np

from ._borders import nearest, reflect
from ._jit import jit
from ._sliding import window_row


@jit
def _load_row(guide, src, self_guided, row, values):
    """values[x, :] = guide channels then (unless self-guided) source channels of `row`."""
    n_guide = guide.shape[2]
    for x in range(guide.shape[1]):
        for g in range(n_guide):
            values[x, g] = guide[row, x, g]
        if not self_guided:
            for c in range(src.shape[2]):
                values[x, n_guide + c] = src[row, x, c]


@jit
def _add_products(enter, leave, first, second, sums):
    """sums[x, k] += P_k(enter[x]) - P_k(leave[x]), where P_k(v) = v[k] for the
    leading k < len(v) (plain means) and v[first[k]] * v[second[k]] after."""
    n_in = enter.shape[1]
    for x in range(enter.shape[0]):
        for k in range(n_in):
            sums[x, k] += enter[x, k] - leave[x, k]
        for k in range(n_in, first.shape[0]):
            i, j = first[k], second[k]
            sums[x, k] += enter[x, i] * enter[x, j] - leave[x, i] * leave[x, j]


@jit
def _add_products_rgb(enter, leave, sums):
    """:func:`_add_products` of a self-guided colour image, unrolled: the 3 values, then
    the 6 products I_i I_j (i <= j)."""
    for x in range(enter.shape[0]):
        e0, e1, e2 = enter[x, 0], enter[x, 1], enter[x, 2]
        l0, l1, l2 = leave[x, 0], leave[x, 1], leave[x, 2]
        s = sums[x]
        s[0] += e0 - l0
        s[1] += e1 - l1
        s[2] += e2 - l2
        s[3] += e0 * e0 - l0 * l0
        s[4] += e0 * e1 - l0 * l1
        s[5] += e0 * e2 - l0 * l2
        s[6] += e1 * e1 - l1 * l1
        s[7] += e1 * e2 - l1 * l2
        s[8] += e2 * e2 - l2 * l2


@jit
def _fit_row(sums, scale, n_guide, n_src, self_guided, eps, a_index, coefs):
    """Least-squares coefficients of one row: a[g, c] in plane ``a_index[g, c]``, then b[c].

    `sums` holds window sums (times `scale`: means), per pixel: E[I_g], then
    (unless self-guided) E[p_c], then the guide products E[I_i I_j] (i <= j),
    then (unless self-guided) E[I_g p_c], c-major.
    """
    n_in = n_guide if self_guided else n_guide + n_src
    n_pairs = n_guide * (n_guide + 1) // 2
    n_a = coefs.shape[1] - n_src
    for x in range(sums.shape[0]):
        m = sums[x]
        if n_guide == 1:
            mean_i = m[0] * scale
            inv = 1.0 / (m[n_in] * scale - mean_i * mean_i + eps)
            for c in range(n_src):
                mean_p = mean_i if self_guided else m[1 + c] * scale
                e_ip = m[n_in] if self_guided else m[n_in + 1 + c]
                a = (e_ip * scale - mean_i * mean_p) * inv
                coefs[x, a_index[0, c]] = a
                coefs[x, n_a + c] = mean_p - a * mean_i
            continue
        m0, m1, m2 = m[0] * scale, m[1] * scale, m[2] * scale
        s00 = m[n_in + 0] * scale - m0 * m0 + eps
        s01 = m[n_in + 1] * scale - m0 * m1
        s02 = m[n_in + 2] * scale - m0 * m2
        s11 = m[n_in + 3] * scale - m1 * m1 + eps
        s12 = m[n_in + 4] * scale - m1 * m2
        s22 = m[n_in + 5] * scale - m2 * m2 + eps
        i00 = s11 * s22 - s12 * s12
        i01 = s02 * s12 - s01 * s22
        i02 = s01 * s12 - s02 * s11
        i11 = s00 * s22 - s02 * s02
        i12 = s01 * s02 - s00 * s12
        i22 = s00 * s11 - s01 * s01
        inv_det = 1.0 / (s00 * i00 + s01 * i01 + s02 * i02)
        if self_guided:  # a = (S + eps I)^-1 S = I - eps (S + eps I)^-1, symmetric
            f = eps * inv_det
            a00, a01, a02 = 1.0 - f * i00, -f * i01, -f * i02
            a11, a12, a22 = 1.0 - f * i11, -f * i12, 1.0 - f * i22
            coefs[x, 0], coefs[x, 1], coefs[x, 2] = a00, a01, a02
            coefs[x, 3], coefs[x, 4], coefs[x, 5] = a11, a12, a22
            coefs[x, 6] = m0 - a00 * m0 - a01 * m1 - a02 * m2
            coefs[x, 7] = m1 - a01 * m0 - a11 * m1 - a12 * m2
            coefs[x, 8] = m2 - a02 * m0 - a12 * m1 - a22 * m2
            continue
        for c in range(n_src):
            mean_p = m[3 + c] * scale
            base = n_in + n_pairs + 3 * c
            c0 = m[base + 0] * scale - m0 * mean_p
            c1 = m[base + 1] * scale - m1 * mean_p
            c2 = m[base + 2] * scale - m2 * mean_p
            a0 = (i00 * c0 + i01 * c1 + i02 * c2) * inv_det
            a1 = (i01 * c0 + i11 * c1 + i12 * c2) * inv_det
            a2 = (i02 * c0 + i12 * c1 + i22 * c2) * inv_det
            coefs[x, a_index[0, c]] = a0
            coefs[x, a_index[1, c]] = a1
            coefs[x, a_index[2, c]] = a2
            coefs[x, n_a + c] = mean_p - a0 * m0 - a1 * m1 - a2 * m2


@jit
def _start_stream(src, guide, fit, radius, start):
    """Buffers of a stream over the rows from start - radius, advanced until the next
    :func:`_advance` gives the coefficient window sums of row `start`."""
    self_guided, _, _, first, _, a_index = fit
    height, width, n_guide = guide.shape
    n_in = n_guide if self_guided else n_guide + src.shape[2]
    n_coefs = a_index.max() + 1 + src.shape[2]
    size = 2 * radius + 1
    enter_rows = np.empty((width, n_in))
    leave_rows = np.zeros((width, n_in))
    columns = np.zeros((width, first.shape[0]))
    sums = np.empty((width, first.shape[0]))
    fresh = np.empty((width, n_coefs))
    ring = np.zeros((size, width, n_coefs))
    coef_columns = np.zeros((width, n_coefs))
    coef_sums = np.empty((width, n_coefs))
    stream = (enter_rows, leave_rows, columns, sums, fresh, ring, coef_columns, coef_sums)
    begin = start - radius
    for u in range(begin - radius, begin + radius):  # leave_rows stays 0 here
        _load_row(guide, src, self_guided, reflect(u, height), enter_rows)
        _add_window_products(enter_rows, leave_rows, fit, columns)
    for t in range(begin, start + radius):  # coefficient rows above `start`'s window centre
        _advance(src, guide, fit, radius, start, t, stream)
    return stream


@jit
def _add_window_products(enter, leave, fit, columns):
    """The entering row's products added to the column sums, the leaving row's taken off."""
    if fit[1]:
        _add_products_rgb(enter, leave, columns)
    else:
        _add_products(enter, leave, fit[3], fit[4], columns)


@jit
def _advance(src, guide, fit, radius, start, t, stream):
    """Fit row t of the stream (t >= start - radius) and add its coefficients to the ring.

    Returns the window sums of the coefficients of row t - radius (``(2 radius + 1)**2``
    times their means), complete when that row is >= `start`.
    """
    self_guided, _, eps, _, _, a_index = fit
    enter_rows, leave_rows, columns, sums, fresh, ring, coef_columns, coef_sums = stream
    height, width, n_guide = guide.shape
    n_src = src.shape[2]
    size = 2 * radius + 1
    begin = start - radius
    _load_row(guide, src, self_guided, reflect(t + radius, height), enter_rows)
    if t > begin:
        _load_row(guide, src, self_guided, reflect(t - radius - 1, height), leave_rows)
    _add_window_products(enter_rows, leave_rows, fit, columns)
    window_row(columns, radius, sums)
    _fit_row(sums, 1.0 / (size * size), n_guide, n_src, self_guided, eps, a_index, fresh)
    slot = ring[(t - begin) % size]  # holds coefficient row t - size (zeros at first)
    for x in range(width):
        for p in range(fresh.shape[1]):
            coef_columns[x, p] += fresh[x, p] - slot[x, p]
            slot[x, p] = fresh[x, p]
    if t - radius >= start:
        window_row(coef_columns, radius, coef_sums)
    return coef_sums


@jit
def guided_rows(src, guide, fit, radius, start, stop, out):
    """Rows [start, stop) of the guided filter of H x W x C `src` by H x W x G `guide`:
    q = mean(a) I + mean(b), into H x W x C `out`."""
    stream = _start_stream(src, guide, fit, radius, start)
    scale = 1.0 / (2 * radius + 1) ** 2
    for row in range(start, stop):
        coef_sums = _advance(src, guide, fit, radius, start, row + radius, stream)
        if fit[1]:
            _apply_row_rgb(coef_sums, guide[row], scale, out[row])
        else:
            _apply_row(coef_sums, guide[row], fit[5], scale, out[row])


@jit
def guided_coefficients(src, guide, fit, radius, start, stop, coefs):
    """Rows [start, stop) of the guided filter's mean coefficients of H x W x C `src` by
    H x W x G `guide` into H x W x P `coefs`: the a planes (per ``fit``'s `a_index`), then
    b[c]."""
    stream = _start_stream(src, guide, fit, radius, start)
    scale = 1.0 / (2 * radius + 1) ** 2
    for row in range(start, stop):
        coef_sums = _advance(src, guide, fit, radius, start, row + radius, stream)
        for x in range(coefs.shape[1]):
            for p in range(coefs.shape[2]):
                coefs[row, x, p] = coef_sums[x, p] * scale


@jit
def _apply_row(coef_sums, guide, a_index, scale, out):
    """out[x, c] = scale * (sum_g A[a_index[g, c]] guide[x, g] + B[c]) for one row."""
    n_guide, n_src = a_index.shape
    n_a = coef_sums.shape[1] - n_src
    for x in range(out.shape[0]):
        for c in range(n_src):
            q = coef_sums[x, n_a + c]
            for g in range(n_guide):
                q += coef_sums[x, a_index[g, c]] * guide[x, g]
            out[x, c] = q * scale


@jit
def _apply_row_rgb(coef_sums, guide, scale, out):
    """:func:`_apply_row` of a self-guided colour image (6 a planes, 3 b), unrolled."""
    for x in range(out.shape[0]):
        k = coef_sums[x]
        i0, i1, i2 = guide[x, 0], guide[x, 1], guide[x, 2]
        out[x, 0] = (k[0] * i0 + k[1] * i1 + k[2] * i2 + k[6]) * scale
        out[x, 1] = (k[1] * i0 + k[3] * i1 + k[4] * i2 + k[7]) * scale
        out[x, 2] = (k[2] * i0 + k[4] * i1 + k[5] * i2 + k[8]) * scale


@jit
def bilinear_taps(size, factor, count):
    """Low-resolution neighbours and weight of each of `size` full-resolution positions
    (shared with the pipeline's blend).

    Low-resolution sample i is the centre of full-resolution [i * factor, (i + 1) * factor);
    positions beyond the first or last centre clamp to it.
    """
    low = np.empty(size, np.intp)
    high = np.empty(size, np.intp)
    weight = np.empty(size)
    for x in range(size):
        coord = min(max((x + 0.5) / factor - 0.5, 0.0), count - 1.0)
        low[x] = int(coord)
        high[x] = min(low[x] + 1, count - 1)
        weight[x] = coord - low[x]
    return low, high, weight


@jit
def upsample_apply_rows(coefs, guide, fit, factor, start, stop, out):
    """Rows [start, stop) of the fast guided filter's output: `coefs` (h x w x P, the
    mean coefficients at 1 / `factor` resolution) bilinearly upsampled and applied to
    the full-resolution H x W x G `guide`, into H x W x C `out`."""
    rgb, a_index = fit[1], fit[5]
    height, width = guide.shape[:2]
    small_h, small_w, n_coefs = coefs.shape
    row_low, row_high, row_weight = bilinear_taps(height, factor, small_h)
    col_low, _, col_weight64 = bilinear_taps(width, factor, small_w)
    col_weight = col_weight64.astype(coefs.dtype)
    rows = np.empty((small_w, n_coefs), coefs.dtype)
    steps = np.zeros((small_w, n_coefs), coefs.dtype)  # rows[i + 1] - rows[i]; 0 at the end
    pixel = np.empty((width, n_coefs), coefs.dtype)
    for y in range(start, stop):
        top, bottom, wy = coefs[row_low[y]], coefs[row_high[y]], row_weight[y]
        for i in range(small_w):
            for p in range(n_coefs):
                rows[i, p] = top[i, p] + wy * (bottom[i, p] - top[i, p])
        for i in range(small_w - 1):
            for p in range(n_coefs):
                steps[i, p] = rows[i + 1, p] - rows[i, p]
        if rgb:
            _upsample_apply_row_rgb(rows, steps, col_low, col_weight, guide[y], out[y])
            continue
        for x in range(width):
            low, wx = col_low[x], col_weight[x]
            for p in range(n_coefs):
                pixel[x, p] = rows[low, p] + wx * steps[low, p]
        _apply_row(pixel, guide[y], a_index, 1.0, out[y])


@jit
def _upsample_apply_row_rgb(rows, steps, col_low, col_weight, guide, out):
    """One row of :func:`upsample_apply_rows` for a self-guided colour image (6 a planes,
    3 b), unrolled."""
    for x in range(out.shape[0]):
        r, d, w = rows[col_low[x]], steps[col_low[x]], col_weight[x]
        a00, a01, a02 = r[0] + w * d[0], r[1] + w * d[1], r[2] + w * d[2]
        a11, a12, a22 = r[3] + w * d[3], r[4] + w * d[4], r[5] + w * d[5]
        i0, i1, i2 = guide[x, 0], guide[x, 1], guide[x, 2]
        out[x, 0] = a00 * i0 + a01 * i1 + a02 * i2 + r[6] + w * d[6]
        out[x, 1] = a01 * i0 + a11 * i1 + a12 * i2 + r[7] + w * d[7]
        out[x, 2] = a02 * i0 + a12 * i1 + a22 * i2 + r[8] + w * d[8]


@jit
def area_downsample_band(image, factor, start, stop, out):
    """Rows [start, stop) of the `factor` x `factor` block means of H x W x C `image`
    into `out` (ceil(H / factor) x ceil(W / factor) x C); the last rows and columns
    are edge-replicated to whole blocks."""
    height, width, channels = image.shape
    small_w = out.shape[1]
    scale = 1.0 / (factor * factor)
    column_sums = np.empty((small_w * factor, channels))
    flat_sums = column_sums[:width].reshape(-1)  # whole rows as one contiguous loop
    for i in range(start, stop):
        flat_sums[:] = 0.0
        for dy in range(factor):
            row = np.ascontiguousarray(image[nearest(i * factor + dy, height)]).reshape(-1)
            for k in range(row.size):
                flat_sums[k] += row[k]
        for x in range(width, small_w * factor):
            column_sums[x] = column_sums[width - 1]
        for j in range(small_w):
            for c in range(channels):
                total = 0.0
                for dx in range(factor):
                    total += column_sums[j * factor + dx, c]
                out[i, j, c] = total * scale
