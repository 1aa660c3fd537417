"""Errors a user can cause and fix, as opposed to internal bugs (which still raise)."""

__all__ = ["TrialFailed", "UserError"]


class UserError(Exception):
    """A problem with the user's input or environment, with the fix in its message.

    The CLI prints the message (no traceback) and exits with a non-zero code.
    """


class TrialFailed(Exception):
    """A trial run in its own process ended without a result, not on a user error.

    The CLI names the trial and its output, and exits as the trial's process did.
    """

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        """How the trial's process ended: its exit code, or minus the signal that killed it."""
