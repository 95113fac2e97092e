"""Errors that carry a message meant for a person (shown in the UI or as one CLI line)."""


class UserError(Exception):
    """Bad input from a user: a file, a setting, a run id. The message says what to do."""


class CheckpointError(UserError):
    """A checkpoint that is missing, corrupt, or belongs to another model."""
