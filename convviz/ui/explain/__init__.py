"""The Explain tab: feature maps, filters, receptive fields, sliding windows and class activation
maps of the user's network on the user's image.

Nothing is imported here: the modules load pyqtgraph and torch, so the main window imports
``convviz.ui.explain.panel`` only when the tab is first shown.
"""
