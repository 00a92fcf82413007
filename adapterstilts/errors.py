"""User-facing errors: one line naming the problem and the fix. The CLI prints these without a
traceback; anything else is a bug and keeps its traceback."""


class UserError(Exception):
    """Bad input, missing data or an unsupported combination: the message says what to do."""


class NothingToDo(UserError):
    """The work asked for is already done (e.g. the output folder holds this very finished run): the CLI
    prints the message without ``error:`` and exits 0, as a grid keeps its finished cells."""
