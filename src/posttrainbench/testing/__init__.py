"""Test doubles that are real implementations: a tiny model factory, fake agents."""

from posttrainbench.testing.tiny_model import build_tiny_model

__all__ = ["build_tiny_model"]
