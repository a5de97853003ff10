"""The error a grid design raises before anything moves."""

from __future__ import annotations

from collections.abc import Sequence

from core.errors import MeniscusError


class GridError(MeniscusError):
    """A grid design is malformed or asks for more than the instrument can do.

    Every problem found is reported at once: ``problems`` lists them, one sentence each, naming
    the value, the limit and the unit; the message joins them with ``"; "`` and, when the grid
    came from a file, starts with ``"<path>: "``.
    """

    def __init__(self, problems: str | Sequence[str], *, source: object = None) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        self.source = None if source is None else str(source)
        text = "; ".join(self.problems)
        super().__init__(text if self.source is None else f"{self.source}: {text}")
