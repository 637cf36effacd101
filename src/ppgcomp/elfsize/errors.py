"""Errors of the ELF size analysis that the CLI turns into a one-line message and exit status 2."""

from __future__ import annotations


class InputError(Exception):
    """Bad input: a missing, non-ELF, truncated or host ELF, or a malformed budget or baseline file.

    The message is one line, meant to be shown to the user as it is.
    """
