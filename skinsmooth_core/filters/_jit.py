"""Shared numba settings for the compiled filter kernels.

Kernels release the GIL (``nogil``) and run in the filters' own thread pool
(`skinsmooth_core._parallel`), so they compose with callers' threads; numba's
``parallel=True`` is not used (its default threading layer aborts when two
threads enter a parallel kernel at once). Compiled code is cached on disk.
"""

from __future__ import annotations

from numba import njit

# fastmath without "nnan"/"ninf"/"afn": inputs are validated finite, results stay IEEE.
_OPTIONS = {"nogil": True, "cache": True, "fastmath": {"nsz", "arcp", "contract", "reassoc"}}


def jit(function):
    """Compile `function` with the project's numba settings."""
    return njit(**_OPTIONS)(function)
