"""Domain exceptions. Messages name the file, the value, the limit and the unit."""

from __future__ import annotations


class MeniscusError(Exception):
    """Base class for every error Meniscus reports to a user."""


class FileProblem(MeniscusError):
    """A file cannot be read. The message is one line: ``"<path>: <problem>"``."""

    def __init__(self, path: object, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class TraceFileError(FileProblem):
    """A trace file (CSV/TSV of time, potential, current) cannot be read."""


class ImageFileError(FileProblem):
    """An image or movie file cannot be read."""


class MovieFileError(ImageFileError):
    """An IRM movie (TIFF stack or AVI) or its frame-times sidecar cannot be read."""


class SemImageFileError(ImageFileError):
    """An SEM image file cannot be read."""


class AnalysisError(MeniscusError):
    """Input arrays cannot be analysed (wrong shapes, too few samples, bad units)."""
