"""Datasets, user images and augmentation (torch, no Qt)."""
