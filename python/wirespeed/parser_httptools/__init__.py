"""Strategy: this package is the httptools (llhttp) twin of the Rust request parser; it
re-exports `RequestParser`, which parser.py defines and describes.
"""

from .parser import RequestParser

__all__ = ["RequestParser"]
