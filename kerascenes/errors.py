"""The one exception type for bad user input.

A ``KerascenesError`` carries a single sentence that names the culprit (a file, an
option, a value) and says how to fix it. The CLI prints it without a traceback and
exits with status 2; library users can catch it like any ``ValueError``.
"""


class KerascenesError(ValueError):
    """Bad input from the user: a wrong path, name, number or file."""
