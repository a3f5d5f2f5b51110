"""Closings and openings with line segments at 0, 45, 90 and 135 degrees, compiled.

The healing stage's top-hats (:mod:`skinsmooth_core.pipeline.heal`) take the minimum of four
line closings (or the maximum of four line openings): a blob shorter than the segment in
every direction is removed, a line along one of them is kept. scipy runs the diagonals as
general footprints, ``length`` comparisons per pixel; here every direction is a 1-d running
extreme along the image's lines (van Herk / Gil-Werman: three comparisons per pixel, whatever
the length). Border pixels, whose window leaves the image, take the clamped neighbours that
scipy's ``mode="nearest"`` takes (on a diagonal they are not on the line), by brute force, so
the result equals scipy's exactly.

References
----------
.. [1] M. van Herk, "A fast algorithm for local minimum and maximum filters on rectangular
       and octagonal kernels", Pattern Recognition Letters 13(7), 1992.
.. [2] J. Gil and M. Werman, "Computing 2-D min, median, and max filters", IEEE Trans. PAMI
       15(5), 1993.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit

# (row step, column step) of the four line directions
_DIRECTIONS = ((0, 1), (1, 0), (1, 1), (1, -1))


def directional_closing(values: np.ndarray, length: int) -> np.ndarray:
    """Minimum over the four directions of the grey closing with a line of `length` pixels.

    Parameters
    ----------
    values : ndarray, H x W float32
        Finite values.
    length : int
        The segment's length in pixels, odd, >= 1 (centred on the pixel).

    Returns
    -------
    ndarray
        H x W float32, equal to ``min(grey_closing(values, footprint=line))`` over the
        four lines with scipy's ``mode="nearest"``.

    Examples
    --------
    >>> import numpy as np
    >>> spot = np.ones((9, 9), np.float32)
    >>> spot[4, 4] = 0.0  # a dark pixel: shorter than the segment in every direction
    >>> float(directional_closing(spot, 3)[4, 4])
    1.0
    """
    return _directional(values, length, True)


def directional_opening(values: np.ndarray, length: int) -> np.ndarray:
    """Maximum over the four directions of the grey opening with a line of `length` pixels
    (as :func:`directional_closing`, for bright blobs)."""
    return _directional(values, length, False)


def _directional(values, length, closing):
    values = np.ascontiguousarray(values, dtype=np.float32)
    if values.ndim != 2:
        raise ValueError(f"values must be H x W, got shape {values.shape}")
    if length < 1 or length % 2 == 0:
        raise ValueError(f"length must be an odd number >= 1, got {length}")
    out = np.empty_like(values)
    if values.size:
        _closings(values, length // 2, closing, np.array(_DIRECTIONS, np.int64), out)
    return out


@jit
def _closings(values, radius, closing, directions, out):
    """`out` = the min (closing) or max (opening) over `directions` of the closing
    (dilation, then erosion) or opening (erosion, then dilation) along each.

    Every pass is a running max: an erosion is the negated dilation of the negated values
    (exact). With s = 1 for a closing and -1 for an opening, a closing is -max(-max(v)) and
    an opening max(-max(-v)): the first pass is s max(s v), the second -s max(-s first).
    The second merges into `out` as -s max(-s out, ...), the min of the closings or the max
    of the openings."""
    ahead = np.empty_like(values)
    behind = np.empty_like(values)
    first = np.empty_like(values)
    sign = np.float32(1.0 if closing else -1.0)
    for d in range(directions.shape[0]):
        dy, dx = directions[d, 0], directions[d, 1]
        if dy == 0:
            _max_pass_across(values, first, radius, sign, False, ahead[0], behind[0])
            _max_pass_across(first, out, radius, -sign, d > 0, ahead[0], behind[0])
        else:
            _max_pass_down(values, first, radius, dx, sign, False, ahead, behind)
            _max_pass_down(first, out, radius, dx, -sign, d > 0, ahead, behind)


@jit
def _put(out, y, x, sign, merge, best):
    """`out[y, x]` = `sign` `best`, or (`merge`) `sign` max(`sign` `out[y, x]`, `best`)."""
    if merge:
        old = sign * out[y, x]
        best = old if old > best else best
    out[y, x] = sign * best


@jit
def _max_pass_across(src, out, radius, sign, merge, ahead, behind):
    """`out` = `sign` times the running max of `sign` times `src` over 2 `radius` + 1
    pixels along each row, with clamped coordinates past its ends (van Herk / Gil-Werman
    with blocks of columns, as :func:`_max_pass_down`; `ahead` and `behind` hold a row).
    `merge`: as :func:`_put`."""
    height, width = src.shape
    span = 2 * radius + 1
    for y in range(height):
        row = src[y]
        for block in range(0, width, span):
            end = min(block + span, width)
            level = sign * row[block]
            for x in range(block, end):
                value = sign * row[x]
                level = level if level > value else value
                ahead[x] = level
            level = sign * row[end - 1]
            for x in range(end - 1, block - 1, -1):
                value = sign * row[x]
                level = level if level > value else value
                behind[x] = level
        for x in range(width):
            if radius <= x < width - radius:
                a, b = behind[x - radius], ahead[x + radius]
                best = a if a > b else b
            else:  # the window leaves the row: its end pixel repeated
                best = sign * row[x]
                for k in range(-radius, radius + 1):
                    value = sign * row[min(max(x + k, 0), width - 1)]
                    best = best if best > value else value
            _put(out, y, x, sign, merge, best)


@jit
def _max_pass_down(src, out, radius, dx, sign, merge, ahead, behind):
    """`out` = `sign` times the running max of `sign` times `src` over 2 `radius` + 1
    pixels along the lines of direction (1, `dx`), `dx` = -1, 0 or 1, with clamped
    coordinates past the image's edges. `merge`: as :func:`_put`.

    Van Herk / Gil-Werman with blocks of rows: `ahead` holds each line's max from the start
    of its block (or the line's start) to the pixel, `behind` from the pixel to its block's
    end (or the line's end), so a window is the max of two; the recurrences run a whole row
    at a time (contiguous, vectorised)."""
    height, width = src.shape
    span = 2 * radius + 1
    lo, hi = max(dx, 0), width + min(dx, 0)  # the pixels whose line goes on from the row above
    for block in range(0, height, span):
        end = min(block + span, height)
        _signed_row(src[block], sign, ahead[block])
        for y in range(block + 1, end):
            _signed_row(src[y], sign, ahead[y])
            _max_rows(ahead[y, lo:hi], ahead[y - 1, lo - dx : hi - dx])
        _signed_row(src[end - 1], sign, behind[end - 1])
        for y in range(end - 2, block - 1, -1):
            _signed_row(src[y], sign, behind[y])
            _max_rows(
                behind[y, width - hi : width - lo], behind[y + 1, width - hi + dx : width - lo + dx]
            )
    # windows inside the image: two half-blocks
    reach = radius * abs(dx)
    left, right = reach, width - reach
    for y in range(radius, height - radius):
        a = behind[y - radius, left - radius * dx : right - radius * dx]
        b = ahead[y + radius, left + radius * dx : right + radius * dx]
        o = out[y, left:right]
        if merge:
            for x in range(right - left):
                m = a[x] if a[x] > b[x] else b[x]
                old = sign * o[x]
                o[x] = sign * (old if old > m else m)
        else:
            for x in range(right - left):
                o[x] = sign * (a[x] if a[x] > b[x] else b[x])
    # windows that leave the image: brute force with clamped coordinates (on a diagonal
    # the clamped neighbours leave the line, as scipy's mode="nearest" has them)
    for y in range(height):
        if radius <= y < height - radius:
            for x in range(min(reach, width)):
                _clamped(src, out, radius, dx, sign, merge, y, x)
            for x in range(max(right, reach), width):
                _clamped(src, out, radius, dx, sign, merge, y, x)
        else:
            for x in range(width):
                _clamped(src, out, radius, dx, sign, merge, y, x)


@jit
def _signed_row(src, sign, out):
    for x in range(src.shape[0]):
        out[x] = sign * src[x]


@jit
def _max_rows(row, other):
    """`row` = max(`row`, `other`), elementwise (same lengths)."""
    for x in range(row.shape[0]):
        a, b = row[x], other[x]
        row[x] = a if a > b else b


@jit
def _clamped(src, out, radius, dx, sign, merge, y, x):
    """:func:`_max_pass_down` at (`y`, `x`) by brute force, the window's coordinates
    clamped to the image."""
    height, width = src.shape
    best = sign * src[y, x]
    for k in range(-radius, radius + 1):
        yy = min(max(y + k, 0), height - 1)
        xx = min(max(x + k * dx, 0), width - 1)
        value = sign * src[yy, xx]
        best = best if best > value else value
    _put(out, y, x, sign, merge, best)
