"""Domain exceptions. Messages name the file, the value, the limit and the unit."""

from __future__ import annotations


class MeniscusError(Exception):
    """Base class for every error Meniscus reports to a user."""


class TraceFileError(MeniscusError):
    """A trace file (CSV/TSV of time, potential, current) cannot be read.

    The message is one line: ``"<path>: <problem>"``.
    """

    def __init__(self, path: object, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class AnalysisError(MeniscusError):
    """Input arrays cannot be analysed (wrong shapes, too few samples, bad units)."""
