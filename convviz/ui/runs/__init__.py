"""The run store in the app: the runs table, overlays, the comparison, the trade-off plot, the replay
and the gradient-flow view (``convviz.runs`` underneath; pyqtgraph for the plots)."""
