"""Meniscus core: pure domain models and analyses for SECCM/IRM lithium-plating screens.

Importable from a notebook: no UI, worker or hardware imports live here (checked by
import-linter in the test command).
"""

__version__ = "0.1.0"
