"""The project's exceptions: one base class, a few subclasses.

The CLI prints them on stderr and exits 1; the UI shows them as a chat message.
"""

from embeddings.errors import EmbeddingsError, IndexFormatError, IndexLockedError, ModelLoadError


class BylineError(Exception):
    """Base of every error a user can cause; the message names the bad value and the fix."""


class InputError(BylineError, ValueError):
    """A bad argument: an empty question, k < 1, an unknown article id."""


class CorpusError(BylineError):
    """No indexable article in the given paths, or a path that does not exist."""


class IndexStateError(BylineError):
    """The index is missing, damaged, locked, or built with another model."""


def as_byline_error(error: EmbeddingsError) -> BylineError:
    """Translate a lower-layer error so that callers catch one hierarchy."""
    if isinstance(error, IndexFormatError | IndexLockedError | ModelLoadError):
        return IndexStateError(str(error))
    return BylineError(str(error))
