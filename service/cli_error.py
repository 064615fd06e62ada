"""The command line's one error type, shared by `service.cli` and the commands it runs."""

from __future__ import annotations


class CliError(Exception):
    """Bad input on the command line: exit status 2 with one line on stderr."""
