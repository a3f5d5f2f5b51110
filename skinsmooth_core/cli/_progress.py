"""A small progress bar on stderr (no dependency): ``[#####-----] 3/10 name``."""

from __future__ import annotations

import shutil
import sys


class Progress:
    """Draws a one-line bar that other messages can print above."""

    def __init__(self, total: int, *, enabled: bool, stream=None):
        self.total, self.count, self.enabled = total, 0, enabled
        self.stream = stream or sys.stderr
        self._shown = 0  # length of the line on screen
        self._label = ""
        if enabled:
            self._draw()

    def _draw(self) -> None:
        width = 24
        filled = width * self.count // max(self.total, 1)
        line = f"[{'#' * filled}{'-' * (width - filled)}] {self.count}/{self.total} {self._label}"
        line = line[: max(20, shutil.get_terminal_size((80, 20)).columns - 1)]
        self.stream.write("\r" + line.ljust(self._shown))
        self.stream.flush()
        self._shown = len(line)

    def _clear(self) -> None:
        if self._shown:
            self.stream.write("\r" + " " * self._shown + "\r")
            self._shown = 0

    def print(self, message: str) -> None:
        """Print a message on its own line, keeping the bar below it."""
        if self.enabled:
            self._clear()
        print(message, file=self.stream, flush=True)
        if self.enabled:
            self._draw()

    def advance(self, label: str = "") -> None:
        self.count += 1
        self._label = label
        if self.enabled:
            self._draw()

    def close(self) -> None:
        if self.enabled:
            self._clear()
            self.enabled = False
