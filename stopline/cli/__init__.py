"""The `stopline` command line: one module per group of commands."""

from stopline.cli.main import main

__all__ = ["main"]
