"""Settings, filled from explicit arguments, then environment variables, then defaults.

Environment variables:
  BYLINE_HOME    data folder (default: the per-user data dir, e.g. ~/.local/share/byline)
  BYLINE_INDEX   index folder (default: $BYLINE_HOME/index)
  BYLINE_MODEL   embedding model name or path for new builds (default: bundled all-MiniLM-L6-v2)
  BYLINE_DEVICE  cpu, cuda, mps or auto (default: auto)
  BYLINE_QUERY_BACKEND  auto, torch or onnx: what encodes questions (default: auto, ONNX
                 Runtime where it is installed, exported once into $BYLINE_HOME/models)
  BYLINE_CONCURRENCY  questions the UI answers at once (default: 4)
  BYLINE_STORE   where vectors are served from: faiss (default, in the index folder),
                 milvus://FILE.db (Milvus Lite) or http://HOST:19530 (a Milvus server);
                 ?bm25=milvus: Milvus answers BM25 too (docs/scale-out.md)
  BYLINE_WORKERS what embeds a build: in this process (default), ray (a local Ray) or
                 ray://ADDRESS (a Ray cluster)
  BYLINE_BATCH_MS  how long a question waits for others to share one encoder call while the
                 encoder is busy (default: 2; 0 encodes every question alone)
  BYLINE_WINDOW_OVERLAP  1 (default): a long paragraph's windows overlap by one sentence;
                 0: they tile it (fewer word pieces to embed; measured in docs/speed.md, not
                 the default)
  BYLINE_BUILD_NICE  how much lower a build's embedding runs than the rest of the machine
                 (default: 10, so a running server answers first; 0 keeps the priority)
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from embeddings.errors import EmbeddingsError
from embeddings.stores.base import StoreSpec, parse_store

DEFAULT_CORPUS_NAME = "news_articles.txt"


def _default_home() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("byline", appauthor=False))


@dataclass(frozen=True)
class Settings:
    home: Path
    index: Path
    model: str | None
    device: str | None
    query_backend: str = "auto"
    concurrency: int = 4
    store: str | None = None  # as given; None: the default (FAISS), or the index's own
    workers: str | None = None
    batch_ms: float = 2.0
    build_nice: int = 10
    window_overlap: bool = True

    @classmethod
    def resolve(
        cls,
        *,
        index: str | os.PathLike[str] | None = None,
        model: str | None = None,
        device: str | None = None,
        store: str | None = None,
        workers: str | None = None,
    ) -> Settings:
        home = Path(os.environ.get("BYLINE_HOME") or _default_home()).expanduser()
        index_dir = index or os.environ.get("BYLINE_INDEX") or home / "index"
        return cls(
            home=home,
            index=Path(index_dir).expanduser(),
            model=model or os.environ.get("BYLINE_MODEL") or None,
            device=device or os.environ.get("BYLINE_DEVICE") or None,
            query_backend=os.environ.get("BYLINE_QUERY_BACKEND") or "auto",
            concurrency=_concurrency(os.environ.get("BYLINE_CONCURRENCY")),
            store=store or os.environ.get("BYLINE_STORE") or None,
            workers=workers or os.environ.get("BYLINE_WORKERS") or None,
            batch_ms=_number("BYLINE_BATCH_MS", 2.0, 0, 1000, "2"),
            build_nice=int(_number("BYLINE_BUILD_NICE", 10, 0, 19, "10", whole=True)),
            window_overlap=bool(_number("BYLINE_WINDOW_OVERLAP", 1, 0, 1, "1", whole=True)),
        )

    @property
    def store_spec(self) -> StoreSpec:
        """The parsed store setting (FAISS when none is given)."""
        from qa.errors import as_byline_error

        try:
            return parse_store(self.store)
        except EmbeddingsError as error:
            raise as_byline_error(error) from error

    @property
    def models(self) -> Path:
        """Where models converted for this machine (the ONNX query encoder) are kept."""
        return self.home / "models"

    @property
    def archive(self) -> Path:
        """Where the default index's article files live (uploads from the UI go here)."""
        return self.home / "archive"

    @property
    def is_default_index(self) -> bool:
        return self.index == self.home / "index"


def _concurrency(value: str | None) -> int:
    if not value:
        return 4
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        from qa.errors import InputError

        raise InputError(
            f"BYLINE_CONCURRENCY must be a whole number >= 1, got {value!r}; "
            "e.g. BYLINE_CONCURRENCY=4"
        )
    return number


def _number(
    name: str, default: float, low: float, high: float, example: str, whole: bool = False
) -> float:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        number = int(value) if whole else float(value)
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        from qa.errors import InputError

        kind = "a whole number" if whole else "a number"
        raise InputError(
            f"{name} must be {kind} from {low:g} to {high:g}, got {value!r}; e.g. {name}={example}"
        )
    return number


def bundled_corpus() -> Path:
    """The archive shipped inside the package (the user's six articles)."""
    return Path(str(resources.files("qa") / "data" / DEFAULT_CORPUS_NAME))


def ensure_default_archive(settings: Settings) -> Path:
    """Create the per-user archive folder with the bundled corpus on first use."""
    archive = settings.archive
    if not archive.is_dir():
        archive.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(bundled_corpus(), archive / DEFAULT_CORPUS_NAME)
    return archive


def uploads_dir(index: Path) -> Path:
    """Where files added to an index built from single files (not a folder) are kept."""
    return Path(index) / "uploads"
