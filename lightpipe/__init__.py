"""Lightpipe: deterministic synthetic color + depth video datasets with PyTorch Lightning."""

__version__ = "0.1.0"
