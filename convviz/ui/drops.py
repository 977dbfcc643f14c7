"""Files dropped on the main window: designs and models open in the designer, images go to the
Explain tab. Only Qt and pathlib here: the main window imports this at start-up."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData

#: What Pillow reads and people drop (the image loader gives the final word on the contents).
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm",
                            ".pbm", ".pnm", ".ico"})
DESIGN_SUFFIXES = frozenset({".json", ".pt"})


def dropped_file(mime: QMimeData) -> Path | None:
    """The one local file a drag carries, or None (several files, a web link, text)."""
    urls = [url for url in mime.urls() if url.isLocalFile()] if mime.hasUrls() else []
    return Path(urls[0].toLocalFile()) if len(urls) == 1 else None


def is_image_file(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def is_design_file(path: Path) -> bool:
    return path.suffix.lower() in DESIGN_SUFFIXES


def existing_file(text: str | None) -> Path | None:
    """``text`` as the path of an existing file, or None: pasted prose, a 300-character line or a
    name with a NUL byte is not a path (``Path.is_file`` raises on some of those)."""
    text = (text or "").strip()
    if not text or "\n" in text or len(text) > 4096:
        return None
    try:
        path = Path(text).expanduser()
        return path if path.is_file() else None
    except (OSError, ValueError):
        return None
