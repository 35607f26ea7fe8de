"""Errors of the vector layer. qa wraps them into its own hierarchy at the boundary."""


class EmbeddingsError(Exception):
    """Base error of the embeddings package; the message names the bad value and the fix."""


class IndexFormatError(EmbeddingsError):
    """An index directory is missing, damaged, or written by another format or model."""


class ModelLoadError(EmbeddingsError):
    """A model name or path could not be loaded."""


class IndexLockedError(EmbeddingsError):
    """Another writer holds the index's lock file."""


class StoreConfigError(EmbeddingsError):
    """A store setting that cannot be used: bad syntax, an unreachable server, a collection
    of another dimension, an optional package that is not installed."""
