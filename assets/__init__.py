"""Data files shipped with convviz: design templates and sample images (no code)."""
