"""The Qt skin: PySide6 and pyqtgraph live here and nowhere else."""

from .pyside_imports import skip_source_scans

skip_source_scans()
