"""diamond: a governed data and AI platform over the Lahman Baseball Database."""

__version__ = "0.1.0"
