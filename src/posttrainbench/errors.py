"""Errors a user can cause and fix, as opposed to internal bugs (which still raise)."""

__all__ = ["UserError"]


class UserError(Exception):
    """A problem with the user's input or environment, with the fix in its message.

    The CLI prints the message (no traceback) and exits with a non-zero code.
    """
