"""The one exception type for bad user input.

Anything a user can get wrong (a config value, a network file) raises ``InputError`` with a
message written for that user: what is wrong (the key or file and line), the bad value, and
what is allowed. The command line prints the message alone, with no traceback, and exits
non-zero before anything is written.
"""


class InputError(ValueError):
    """A user-facing error in configuration or input data."""
