"""repolens: continuous repository analysis."""

__version__ = "0.1.0"
