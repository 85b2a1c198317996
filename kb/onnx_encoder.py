"""Fast question encoding with ONNX Runtime (int8), exported once at ``kb model install``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def export_onnx(model_dir: Path, *, force: bool = False, progress: Callable[[str], None] | None = None) -> Path | None:
    """Export the transformer to ONNX and quantise it to int8 beside the model (not yet implemented: torch is used)."""
    return None
