"""The public recommender API over a built artifact set.

>>> from engine import Recommender
>>> rec = Recommender.load("data/artifacts")
>>> rec.recommend("TRIOREW128F424EAF0", k=10, alpha=0.5)      # doctest: +SKIP

Scoring is documented in :mod:`engine.hybrid`: ``score = alpha * content +
(1 - alpha) * collab`` on scores min-max normalised over the candidates.
"""
from __future__ import annotations

import math
import numbers
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp

from ._validation import check_alpha, check_alphas, check_k
from ._structure import check_artifact_structure
from .artifacts import _REBUILD_HINT, ArtifactSet
from .cold_start import ContentNeighbours
from .collab_cache import HeavyRows
from .collaborative import CollaborativeModel
from .content import Block, ContentIndex
from .errors import ArtifactError, InvalidParameterError, UnknownTrackError
from .hybrid import HybridScorer, RawScores, history_weights
from .schema import AUDIO_FEATURES
from .search import TrackSearch
from .users import UserIndex

__all__ = ["Recommender", "Recommendation", "Explanation", "Track", "AlphaSweep", "DEFAULT_ALPHAS"]

#: The alpha grid of sweeps and rank-by-alpha views: 0, 0.05, ..., 1 (21 steps).
DEFAULT_ALPHAS = tuple(round(a, 2) for a in np.linspace(0.0, 1.0, 21))
MAX_K = 1000
MAX_SEEDS = 1000


@dataclass(frozen=True)
class Track:
    """One catalogue track as shown to a person."""

    track_id: str
    name: str
    artist: str
    year: int | None
    tags: tuple[str, ...]
    genre: str | None
    preview_url: str | None
    n_listeners: int
    n_plays: int
    audio: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Recommendation:
    """One recommended track with its scores, each in [0, 1].

    ``score = alpha * content_score + (1 - alpha) * collab_score``.
    """

    track_id: str
    name: str
    artist: str
    score: float
    content_score: float
    collab_score: float
    rank: int
    year: int | None = None
    tags: tuple[str, ...] = ()
    preview_url: str | None = None
    n_listeners: int = 0

    @property
    def is_new(self) -> bool:
        """Nobody has played it: its listening score is estimated from its content neighbours."""
        return self.n_listeners == 0


@dataclass(frozen=True)
class Explanation:
    """Why ``track`` is similar to ``seed``.

    Attributes
    ----------
    content_similarity : float
        ``content(seed, track)``, the unnormalised content similarity.
    content_by_block : dict of str to float
        Its split by feature block (sums to ``content_similarity``); only
        blocks present in the artifact set appear.
    shared_tags : tuple of str
        Tags both tracks carry, in the seed's order.
    seed_audio, track_audio : dict of str to float
        Raw audio features of both tracks (empty when the data has none).
    shared_listeners : int
        Listeners who played both tracks.
    collab_similarity : float
        ``collab(seed, track)``, the unnormalised collaborative similarity.
    estimated_from : tuple of Track
        When the seed or the track has no listeners, the tracks with listeners
        whose scores ``collab_similarity`` is estimated from (the cold one's
        content neighbours, :mod:`engine.cold_start`), most similar first; else empty.
    """

    seed: Track
    track: Track
    content_similarity: float
    content_by_block: dict[str, float]
    shared_tags: tuple[str, ...]
    seed_audio: dict[str, float]
    track_audio: dict[str, float]
    shared_listeners: int
    collab_similarity: float
    estimated_from: tuple[Track, ...] = ()


@dataclass(frozen=True)
class AlphaSweep:
    """Top-k lists of one seed across alpha.

    ``ranking[a]`` holds the track ids at ``alphas[a]``, best first, and
    ``new_share[a]`` the share of that list nobody has played yet.
    """

    seed_track_id: str
    alphas: tuple[float, ...]
    ranking: tuple[tuple[str, ...], ...]
    new_share: tuple[float, ...] = ()

    def overlap_with(self, alpha: float) -> list[float]:
        """Fraction of each list shared with the list at ``alpha`` (nearest grid point)."""
        ref = set(self.ranking[int(np.argmin(np.abs(np.asarray(self.alphas) - alpha)))])
        return [len(ref.intersection(r)) / max(len(ref), 1) for r in self.ranking]


class Recommender:
    """Hybrid content + collaborative music recommender over one artifact set.

    Build it with :meth:`load`; the constructor only stores its parts.
    """

    def __init__(self, tracks: pd.DataFrame, scorer: HybridScorer, users: UserIndex,
                 manifest: dict, directory: str | None = None):
        self.tracks = tracks
        self.scorer = scorer
        self.users = users
        self.manifest = manifest
        self.directory = directory
        # Plain columns: building result objects must not go through pandas row access, which
        # costs more per row than the whole query. Per-row conversions happen on access, not here.
        self._ids = _text_column(tracks["track_id"]).to_pylist()
        self._names = _text_column(tracks["name"]).to_pylist()
        self._artists = _text_column(tracks["artist"]).to_pylist()
        self._years = tracks["year"].to_numpy(dtype=np.float64, na_value=np.nan)
        # Text shown for a few rows per query: one Arrow array each, no Python object per row
        # (reading one row from Arrow is far cheaper than pandas' scalar access).
        self._previews = _text_column(tracks["spotify_preview_url"])
        self._genres = _text_column(tracks["genre"])
        self._tag_text = _text_column(tracks["tags"])
        self._listeners = tracks["n_listeners"].to_numpy()
        self._plays = tracks["n_plays"].to_numpy()
        self._row_of = dict(zip(self._ids, range(len(self._ids))))
        self._search_index: TrackSearch | None = None  # built on the first search
        self._audio_columns = [c for c in AUDIO_FEATURES if c in tracks and tracks[c].notna().any()]
        self._audio = tracks[self._audio_columns].to_numpy(dtype=np.float64, na_value=np.nan)

    # ------------------------------------------------------------ loading
    @classmethod
    def load(cls, path: str | os.PathLike = "data/artifacts", verify: bool = True) -> "Recommender":
        """Open an artifact set memory-mapped (see :class:`engine.artifacts.ArtifactSet`).

        Raises :class:`engine.errors.ArtifactError` naming any missing,
        truncated, altered or incompatible file.
        """
        artifacts = ArtifactSet.open(path, verify=False)
        # The checksums and the structural checks (engine._structure: every index the kernels follow
        # is in range) run on other threads (hashing and numpy reductions release the GIL) while this
        # one reads the table and builds the query structures; the compiled kernels, which do not
        # check bounds, run their first query only on arrays that passed both.
        with ThreadPoolExecutor(max_workers=2) as pool:
            checked = [pool.submit(check_artifact_structure, artifacts)]
            if verify:
                checked.append(pool.submit(artifacts.verify))
            try:
                recommender = cls._assemble(artifacts)
            finally:
                for check in reversed(checked):
                    check.result()  # an altered or malformed file is named, even if assembling it failed first
        recommender.scorer.warm_up()
        return recommender

    @classmethod
    def _assemble(cls, artifacts: ArtifactSet) -> "Recommender":
        manifest = artifacts.manifest
        tracks = artifacts.track_table()
        try:
            n_tracks, n_users = len(tracks), manifest["counts"]["users"]
            blocks = [Block(**b) for b in manifest["content"]["blocks"]]
            content = ContentIndex.from_arrays(blocks, n_tracks, artifacts.arrays_with_prefix("content_"))
            left = sp.csr_matrix((artifacts.array("collab_left.data"), artifacts.array("collab_left.indices"),
                                  artifacts.array("collab_left.indptr")), shape=(n_tracks, n_users), copy=False)
            right = sp.csr_matrix((artifacts.array("collab_right.data"), artifacts.array("collab_right.indices"),
                                   artifacts.array("collab_right.indptr")), shape=(n_users, n_tracks), copy=False)
            collab = CollaborativeModel.from_matrices(left, right, **manifest["collaborative"]["params"])
            users = UserIndex(artifacts.array("user_ids"), artifacts.array("collab_right.indptr"),
                              artifacts.array("collab_right.indices"), artifacts.array("user_playcounts"))
            heavy = HeavyRows.from_arrays(artifacts.arrays_with_prefix("collab_"), n_tracks) \
                if "collab_heavy_seeds" in artifacts else None
            cold = ContentNeighbours.from_arrays(artifacts.arrays_with_prefix("cold_"), n_tracks)
            scorer = HybridScorer(content, collab, tracks["n_listeners"].to_numpy(), heavy, cold).prepare()
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            # The checks above passed, but the manifest does not describe its arrays (cut or edited by hand).
            raise ArtifactError(f"the manifest of artifact set {str(artifacts.directory)!r} does not match its "
                                f"arrays ({type(exc).__name__}: {exc}); {_REBUILD_HINT}") from exc
        return cls(tracks, scorer, users, manifest, str(artifacts.directory))

    # ----------------------------------------------------------- lookups
    @property
    def version(self) -> str:
        return self.manifest["version"]

    @property
    def default_alpha(self) -> float:
        """The alpha of the build (``manifest["defaults"]["alpha"]``): chosen by its offline evaluation,
        or given on its command line; every method uses it when no alpha is passed."""
        return float(self.manifest["defaults"]["alpha"])

    def _alpha(self, alpha: float | None) -> float:
        return self.default_alpha if alpha is None else check_alpha(alpha)

    @property
    def content_blocks(self) -> list[str]:
        return self.scorer.content.block_names

    def track_index(self, track_id) -> int:
        """Row of ``track_id``; raises :class:`UnknownTrackError` naming it."""
        row = self._row_of.get(track_id) if isinstance(track_id, str) else None
        if row is None:
            raise UnknownTrackError(f"unknown track_id {track_id!r}: not in the catalogue")
        return row

    def track(self, track_id: str) -> Track:
        """The catalogue entry of ``track_id``."""
        return self._track_at(self.track_index(track_id))

    def _track_at(self, row: int) -> Track:
        audio = {c: float(v) for c, v in zip(self._audio_columns, self._audio[row]) if not math.isnan(v)}
        return Track(track_id=self._ids[row], name=self._names[row], artist=self._artists[row],
                     year=_optional_int(self._years[row]), tags=self._tags_at(row),
                     genre=_optional_str(self._genres[row].as_py()),
                     preview_url=_optional_str(self._previews[row].as_py()),
                     n_listeners=int(self._listeners[row]), n_plays=int(self._plays[row]), audio=audio)

    def _tags_at(self, row: int) -> tuple[str, ...]:
        text = self._tag_text[row].as_py()
        return tuple(text.split(", ")) if text else ()

    # ---------------------------------------------------------- recommend
    def recommend(self, track_id: str, k: int = 10, alpha: float | None = None) -> list[Recommendation]:
        """Tracks like ``track_id``, best first.

        Returns exactly ``k`` recommendations (fewer only if the catalogue has
        fewer other tracks), never the seed. ``alpha = 1``: content only;
        ``alpha = 0``: listening behaviour only; not given (None): the alpha
        the build chose, :attr:`default_alpha`.
        """
        return self.recommend_for_tracks([track_id], k=k, alpha=alpha)

    def recommend_for_tracks(self, track_ids, k: int = 10, alpha: float | None = None) -> list[Recommendation]:
        """Tracks for a session or playlist (``track_ids``, equally weighted), never one of the seeds.

        ``alpha`` not given (None): :attr:`default_alpha`, the build's choice.
        """
        k, alpha = check_k(k, maximum=MAX_K), self._alpha(alpha)
        seeds = self._seed_rows(track_ids)
        return self._recommendations(self.scorer.raw_scores(seeds), alpha, k)

    def recommend_for_user(self, user_id: str, k: int = 10, alpha: float | None = None) -> list[Recommendation]:
        """Tracks for a listener from their history, never one they already played.

        Each history track weighs ``1 + ln(playcount)``. ``alpha`` not given
        (None): :attr:`default_alpha`, the build's choice.
        """
        k, alpha = check_k(k, maximum=MAX_K), self._alpha(alpha)
        seeds, counts = self.users.history(self.users.code(user_id))
        weights = history_weights(counts)
        return self._recommendations(self.scorer.raw_scores(seeds, weights), alpha, k)

    def _seed_rows(self, track_ids) -> np.ndarray:
        if isinstance(track_ids, str) or not hasattr(track_ids, "__iter__"):
            raise InvalidParameterError(f"track_ids must be a list of track ids, got {track_ids!r}")
        track_ids = list(track_ids)
        if not track_ids:
            raise InvalidParameterError("track_ids is empty: give at least one seed track")
        if len(track_ids) > MAX_SEEDS:
            raise InvalidParameterError(f"at most {MAX_SEEDS} seed tracks, got {len(track_ids)}")
        rows = [self.track_index(t) for t in track_ids]
        return np.unique(rows) if len(rows) > 1 else np.array(rows, dtype=np.int64)

    def _recommendations(self, raw: RawScores, alpha: float, k: int) -> list[Recommendation]:
        rows, scores, content, collab = self.scorer.top_scored(raw, alpha, k)
        out = []
        for rank, (row, score, content_score, collab_score) in enumerate(
                zip(rows.tolist(), scores.tolist(), content.tolist(), collab.tolist()), start=1):
            out.append(Recommendation(
                track_id=self._ids[row], name=self._names[row], artist=self._artists[row],
                score=score, content_score=content_score, collab_score=collab_score, rank=rank,
                year=_optional_int(self._years[row]), tags=self._tags_at(row),
                preview_url=_optional_str(self._previews[row].as_py()), n_listeners=int(self._listeners[row])))
        return out

    # ------------------------------------------------------------ explain
    def explain(self, seed_track_id: str, track_id: str) -> Explanation:
        """Why ``track_id`` is (or is not) recommended for ``seed_track_id``."""
        i, j = self.track_index(seed_track_id), self.track_index(track_id)
        seed, track = self._track_at(i), self._track_at(j)
        by_block = self.scorer.content.similarity_by_block(i, j)
        shared = tuple(t for t in seed.tags if t in set(track.tags))
        collab = self.scorer.collab
        return Explanation(seed=seed, track=track, content_similarity=float(sum(by_block.values())),
                           content_by_block=by_block, shared_tags=shared,
                           seed_audio=seed.audio, track_audio=track.audio,
                           shared_listeners=collab.shared_listeners(i, j),
                           collab_similarity=self.scorer.collab_pair(i, j),
                           estimated_from=tuple(self._track_at(int(n)) for n in self.scorer.estimated_from(i, j)))

    def rank_by_alpha(self, seed_track_id: str, track_id: str,
                      alphas=DEFAULT_ALPHAS) -> list[int | None]:
        """1-based rank of ``track_id`` among the seed's recommendations at each alpha."""
        alphas = check_alphas(alphas)
        i, j = self.track_index(seed_track_id), self.track_index(track_id)
        return self.scorer.ranks_of(self.scorer.raw_scores([i]), alphas, j)

    def alpha_sweep(self, track_id: str, k: int = 10, alphas=DEFAULT_ALPHAS) -> AlphaSweep:
        """The seed's top-``k`` list at each alpha (scores computed once)."""
        k = check_k(k, maximum=MAX_K)
        alphas = check_alphas(alphas)
        raw = self.scorer.raw_scores([self.track_index(track_id)])
        lists = [self.scorer.top(raw, a, k) for a in alphas]
        ranking = tuple(tuple(self._ids[r] for r in rows.tolist()) for rows in lists)
        new_share = tuple(float(np.mean(self._listeners[rows] == 0)) if len(rows) else 0.0 for rows in lists)
        return AlphaSweep(track_id, alphas, ranking, new_share)

    # ------------------------------------------------------------- search
    def search(self, text: str, limit: int = 20) -> list[Track]:
        """Tracks whose name or artist contains ``text`` literally, case-insensitively.

        Ranked exact > prefix > substring match, then by number of listeners.
        Blank text gives an empty list.
        """
        if not isinstance(text, str):
            raise InvalidParameterError(f"search text must be a string, got {text!r}")
        limit = check_k(limit, name="limit", maximum=MAX_K)
        return [self._track_at(int(r)) for r in self.prepare_search().search(text, limit)]

    def prepare_search(self) -> TrackSearch:
        """Build the search index now if it is not built yet (:meth:`search` builds it on first use).
        A server calls this before forking so that its workers share one copy."""
        if self._search_index is None:
            self._search_index = TrackSearch(self._names, self._artists, self._listeners)
        return self._search_index

    # -------------------------------------------------------------- users
    def user_history(self, user_id: str, limit: int = 50) -> list[tuple[Track, int]]:
        """A listener's most played tracks with play counts, most played first."""
        limit = check_k(limit, name="limit", maximum=100_000)
        rows, counts = self.users.history(self.users.code(user_id))
        order = np.lexsort((rows, -counts))[:limit]
        return [(self._track_at(int(rows[o])), int(counts[o])) for o in order]

    def search_users(self, prefix: str, limit: int = 20) -> list[str]:
        """User ids starting with ``prefix``."""
        return self.users.with_prefix(prefix, check_k(limit, name="limit", maximum=MAX_K))

    def random_active_user(self, seed: int | None = None, min_tracks: int = 20) -> str:
        """A random listener with at least ``min_tracks`` distinct tracks."""
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0):
            raise InvalidParameterError(f"seed must be None or an integer >= 0, got {seed!r}")
        return self.users.random_active(np.random.default_rng(seed), check_k(min_tracks, name="min_tracks"))


def _optional_int(value: float) -> int | None:
    """A year (float, NaN when unknown) as an int or None."""
    return None if math.isnan(value) else int(value)


def _text_column(column: pd.Series) -> pa.StringArray:
    return pa.array(column, type=pa.string())


def _optional_str(value) -> str | None:
    return value if isinstance(value, str) and value else None
