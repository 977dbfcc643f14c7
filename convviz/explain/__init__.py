"""Seeing inside a network: activations, filters, receptive fields, sliding windows, CAMs (numpy out)."""
