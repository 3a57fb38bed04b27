"""Named exceptions. The CLI turns ``BadInput`` into a one-line message and exit code 2."""


class ClaimauditError(Exception):
    """Base class for every error this package raises on purpose."""


class BadInput(ClaimauditError):
    """A user-supplied file, option or URL is unusable. The message names it and says why."""


class ModelError(ClaimauditError):
    """A model artefact is missing, or does not match its card (version or data digest)."""
