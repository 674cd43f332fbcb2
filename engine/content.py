"""Content features of tracks and the exact content similarity built on them.

The content representation of a track is one sparse row made of *blocks*:

============== ======== ============================================================
block          kind     columns
============== ======== ============================================================
tags           sparse   TF-IDF over the tag vocabulary (binary term frequency)
audio          dense    z-scored danceability, energy, loudness, ... tempo
key            onehot   one column per key (0-11)
mode           onehot   major / minor
time_signature onehot   one column per time signature
era            coded    Gaussian bumps over release years (nearby years overlap)
artist         onehot   one column per artist
genre          onehot   one column per genre
============== ======== ============================================================

Each block of a row is L2-normalised on its own and multiplied by
``sqrt(w_b)``, with block weights ``w_b`` summing to 1 over the blocks present
in the data. The content similarity of two tracks is the dot product of their
rows::

    content(i, j) = sum_b w_b * cos_b(i, j)

so it splits exactly into per-block parts (used by explanations), equals 1 for
two tracks identical in every block, and lies in [-1, 1] (only the z-scored
audio block can be negative). A block absent from the data (for example audio
features in the Last.fm data set) gets no columns and no weight. A track missing
a value in a present block (no tags, no year) has zeros there.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ._kernels import content_dense, scatter_rows
from ._sparse import concat_ranges, to_csr32
from ._validation import check_rows, check_weights
from .errors import InvalidParameterError
from .schema import AUDIO_FEATURES

__all__ = ["Block", "BLOCK_NAMES", "ContentFeatures", "ContentIndex", "DEFAULT_BLOCK_WEIGHTS", "split_tags"]

#: Default weights of the content blocks (renormalised over the blocks present).
DEFAULT_BLOCK_WEIGHTS = {
    "tags": 0.35,
    "audio": 0.25,
    "artist": 0.15,
    "era": 0.10,
    "genre": 0.08,
    "key": 0.03,
    "mode": 0.02,
    "time_signature": 0.02,
}
#: Every content block, in column order; a data set may lack some (:attr:`ContentIndex.absent_blocks`).
BLOCK_NAMES = tuple(DEFAULT_BLOCK_WEIGHTS)
_ONEHOT_SOURCES = {"key": "key", "mode": "mode", "time_signature": "time_signature",
                   "artist": "artist", "genre": "genre"}


@dataclass(frozen=True)
class Block:
    """One feature block: its column range ``[start, stop)`` in the content matrix and its weight."""

    name: str
    kind: str  # "sparse" | "dense" | "onehot" | "coded"
    start: int
    stop: int
    weight: float

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "start": self.start,
                "stop": self.stop, "weight": self.weight}


def split_tags(tags: pd.Series) -> list[list[str]]:
    """Split the ``"rock, indie, 00s"`` tag strings of a column into lists (empty for missing)."""
    out = []
    for value in tags.fillna("").astype(str):
        seen: dict[str, None] = {}
        for tag in value.split(","):
            tag = tag.strip().lower()
            if tag:
                seen.setdefault(tag, None)
        out.append(list(seen))
    return out


def _category_codes(values: pd.Series, vocabulary: list) -> np.ndarray:
    """Codes of ``values`` in ``vocabulary`` (int32, -1 for missing or unseen values)."""
    index = pd.Index(vocabulary)
    return index.get_indexer(values.to_numpy(dtype=object)).astype(np.int32)


def _normalised_key(values: pd.Series) -> pd.Series:
    """Case- and space-insensitive key for categorical text (artist, genre); NaN stays NaN."""
    text = values.astype("string").str.strip().str.casefold()
    return text.mask(text == "").astype(object).where(text.notna(), None)


class ContentFeatures:
    """Learns the content blocks from a track table and turns tracks into content rows.

    Parameters
    ----------
    block_weights : dict of str to float, optional
        Weight of each block before renormalisation over the blocks present;
        defaults to :data:`DEFAULT_BLOCK_WEIGHTS`. A block with weight 0 is left out.
    era_step : int, default 5
        Spacing in years of the Gaussian bumps of the era block.
    era_width : float, default 6.0
        Standard deviation in years of each bump; two tracks ``d`` years apart
        have era cosine ``exp(-d**2 / (4 * era_width**2))`` (0.5 at about 10 years).

    Attributes
    ----------
    blocks_ : list of Block
        Blocks present in the fitted data, in column order.
    n_features_ : int
        Number of columns of the content matrix.
    tag_vocabulary_ : list of str
        Tags, in column order of the tags block.
    idf_ : ndarray of shape (n_tags,)
        Smoothed inverse document frequency ``ln((1 + n) / (1 + df)) + 1``.
    audio_columns_ : list of str
        Audio features with at least one value.
    audio_mean_, audio_scale_ : ndarray of shape (n_audio,)
        Mean and standard deviation used to z-score the audio features.
    vocabularies_ : dict of str to list
        Values of each one-hot block, in column order.
    era_years_ : ndarray of shape (n_years,)
        Distinct release years, the codes of the era block.
    era_centers_ : ndarray of shape (n_centers,)
        Centres of the era bumps, in years.
    """

    def __init__(self, block_weights: dict | None = None, era_step: int = 5, era_width: float = 6.0):
        self.block_weights = block_weights
        self.era_step = era_step
        self.era_width = era_width

    # ----------------------------------------------------------------- fit
    def fit(self, tracks: pd.DataFrame) -> "ContentFeatures":
        """Learn vocabularies, idf, scaling and block layout from a cleaned track table.

        Parameters
        ----------
        tracks : DataFrame of shape (n_tracks, ...)
            Columns ``tags`` (comma-separated), the audio features, ``key``,
            ``mode``, ``time_signature``, ``year``, ``artist`` and ``genre``;
            missing values as NaN / empty.
        """
        weights = dict(DEFAULT_BLOCK_WEIGHTS if self.block_weights is None else self.block_weights)
        unknown = set(weights) - set(DEFAULT_BLOCK_WEIGHTS)
        if unknown:
            raise InvalidParameterError(f"unknown content blocks in block_weights: {sorted(unknown)}")
        n = len(tracks)
        tag_lists = split_tags(tracks["tags"]) if "tags" in tracks else [[] for _ in range(n)]
        df = pd.Series([t for tags in tag_lists for t in tags], dtype=object).value_counts()
        self.tag_vocabulary_ = sorted(df.index.tolist())
        doc_freq = df.reindex(self.tag_vocabulary_).to_numpy(dtype=np.float64)
        self.idf_ = np.log((1.0 + n) / (1.0 + doc_freq)) + 1.0

        self.audio_columns_ = [c for c in AUDIO_FEATURES
                               if c in tracks and tracks[c].notna().any()]
        audio = tracks[self.audio_columns_].to_numpy(dtype=np.float64) if self.audio_columns_ \
            else np.empty((n, 0))
        self.audio_mean_ = np.nanmean(audio, axis=0) if audio.size else np.empty(0)
        scale = np.nanstd(audio, axis=0) if audio.size else np.empty(0)
        self.audio_scale_ = np.where(scale > 0, scale, 1.0)

        self.vocabularies_ = {}
        for block, column in _ONEHOT_SOURCES.items():
            if column not in tracks:
                self.vocabularies_[block] = []
                continue
            values = self._onehot_values(tracks, block).dropna()
            # A block in which no two tracks share a value (one artist per
            # track, as in the Last.fm artist data) can never relate two
            # tracks: leave it out instead of diluting the others.
            shared = values.duplicated().any()
            self.vocabularies_[block] = sorted(pd.unique(values).tolist()) if shared else []

        years = self._years(tracks)
        self.era_years_ = np.unique(years[~np.isnan(years)]).astype(np.int32)
        if self.era_years_.size:
            lo = np.floor(self.era_years_.min() / self.era_step) * self.era_step - self.era_step
            hi = np.ceil(self.era_years_.max() / self.era_step) * self.era_step + self.era_step
            self.era_centers_ = np.arange(lo, hi + 1, self.era_step, dtype=np.float64)
        else:
            self.era_centers_ = np.empty(0)

        widths = {
            "tags": len(self.tag_vocabulary_),
            "audio": len(self.audio_columns_),
            "era": len(self.era_centers_),
            **{b: len(v) for b, v in self.vocabularies_.items()},
        }
        kinds = {"tags": "sparse", "audio": "dense", "era": "coded"}
        present = [b for b in BLOCK_NAMES if widths[b] > 0 and weights.get(b, 0) > 0]
        total = sum(weights[b] for b in present)
        self.blocks_, start = [], 0
        for name in present:
            self.blocks_.append(Block(name, kinds.get(name, "onehot"), start,
                                      start + widths[name], weights[name] / total))
            start += widths[name]
        self.n_features_ = start
        return self

    # ----------------------------------------------------------- transform
    def transform(self, tracks: pd.DataFrame) -> sp.csr_matrix:
        """Content rows of ``tracks``: CSR float32 of shape (n_tracks, n_features_)."""
        return self.transform_index(tracks).to_csr()

    def transform_index(self, tracks: pd.DataFrame) -> "ContentIndex":
        """The content rows of ``tracks`` as a :class:`ContentIndex` (fast exact queries)."""
        self._check_fitted()
        parts = {}
        for block in self.blocks_:
            scale = np.sqrt(block.weight)
            if block.name == "tags":
                parts["tags"] = self._tags_block(tracks) * np.float32(scale)
            elif block.name == "audio":
                parts["audio"] = (self._audio_block(tracks) * scale).astype(np.float32)
            elif block.name == "era":
                codes, table = self._era_block(tracks)
                parts["era_codes"], parts["era_table"] = codes, (table * scale).astype(np.float32)
            else:
                parts[f"{block.name}_codes"] = _category_codes(
                    self._onehot_values(tracks, block.name), self.vocabularies_[block.name])
        return ContentIndex(self.blocks_, len(tracks), parts)

    def feature_names(self) -> list[str]:
        """Name of every column of the content matrix (``tag=rock``, ``audio=energy``, ...)."""
        self._check_fitted()
        names = []
        for block in self.blocks_:
            if block.name == "tags":
                names += [f"tag={t}" for t in self.tag_vocabulary_]
            elif block.name == "audio":
                names += [f"audio={c}" for c in self.audio_columns_]
            elif block.name == "era":
                names += [f"era={int(c)}" for c in self.era_centers_]
            else:
                names += [f"{block.name}={v}" for v in self.vocabularies_[block.name]]
        return names

    # ------------------------------------------------------------- helpers
    def _check_fitted(self):
        if not hasattr(self, "blocks_"):
            raise InvalidParameterError("ContentFeatures is not fitted yet; call fit() first")

    def _onehot_values(self, tracks: pd.DataFrame, block: str) -> pd.Series:
        column = tracks[_ONEHOT_SOURCES[block]]
        if block in ("artist", "genre"):
            return _normalised_key(column)
        numeric = pd.to_numeric(column, errors="coerce")
        return numeric.astype("Int64").astype(object).where(numeric.notna(), None)

    @staticmethod
    def _years(tracks: pd.DataFrame) -> np.ndarray:
        if "year" not in tracks:
            return np.full(len(tracks), np.nan)
        years = pd.to_numeric(tracks["year"], errors="coerce").to_numpy(dtype=np.float64)
        return np.where(years > 0, years, np.nan)

    def _tags_block(self, tracks: pd.DataFrame) -> sp.csr_matrix:
        tag_lists = split_tags(tracks["tags"])
        column_of = {t: i for i, t in enumerate(self.tag_vocabulary_)}
        rows, cols = [], []
        for row, tags in enumerate(tag_lists):
            for tag in tags:
                col = column_of.get(tag)
                if col is not None:
                    rows.append(row)
                    cols.append(col)
        values = self.idf_[np.asarray(cols, dtype=np.int64)]
        matrix = sp.csr_matrix((values, (rows, cols)), shape=(len(tracks), len(self.tag_vocabulary_)))
        norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
        matrix = sp.diags(np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)) @ matrix
        return to_csr32(matrix)

    def _audio_block(self, tracks: pd.DataFrame) -> np.ndarray:
        raw = tracks[self.audio_columns_].apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
        missing_all = np.isnan(raw).all(axis=1)
        z = (raw - self.audio_mean_) / self.audio_scale_
        z = np.nan_to_num(z, nan=0.0)  # a single missing feature counts as average
        norms = np.linalg.norm(z, axis=1, keepdims=True)
        z = np.divide(z, norms, out=np.zeros_like(z), where=norms > 0)
        z[missing_all] = 0.0
        return z

    def _era_block(self, tracks: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        years = self._years(tracks)
        codes = np.full(len(tracks), -1, dtype=np.int32)
        known = ~np.isnan(years)
        position = np.searchsorted(self.era_years_, years[known])
        position = np.minimum(position, max(len(self.era_years_) - 1, 0))
        matches = self.era_years_[position] == years[known]
        codes[np.flatnonzero(known)[matches]] = position[matches]
        bumps = np.exp(-0.5 * ((self.era_years_[:, None] - self.era_centers_[None, :]) / self.era_width) ** 2)
        bumps[bumps < 1e-3] = 0.0  # keep the block sparse
        bumps /= np.linalg.norm(bumps, axis=1, keepdims=True)
        return codes, bumps


class ContentIndex:
    """Exact content similarity queries over all tracks, computed block by block.

    Holds each block in the form that makes ``X @ q`` cheapest: the tags block
    as CSR and CSC, the audio block as a small dense matrix, one-hot blocks as
    integer codes and the era block as codes into a small table of distinct
    rows. :meth:`similarity` equals ``X @ (sum_i w_i X[i]).T`` for the
    content matrix ``X`` (:meth:`to_csr`) up to float rounding.

    Parameters
    ----------
    blocks : list of Block
        Block layout (as fitted by :class:`ContentFeatures`).
    n_tracks : int
        Number of rows.
    parts : dict of str to array or sparse matrix
        ``tags`` (CSR), ``audio`` (n_tracks, n_audio), ``era_codes``,
        ``era_table`` and ``<block>_codes`` for one-hot blocks; values already
        normalised and scaled by ``sqrt(weight)`` (one-hot blocks store codes only).
    """

    def __init__(self, blocks: list[Block], n_tracks: int, parts: dict):
        self.blocks = list(blocks)
        self.n_tracks = int(n_tracks)
        self.parts = dict(parts)
        if "tags" in self.parts and "tags_csc" not in self.parts:
            self.parts["tags_csc"] = self.parts["tags"].tocsc()
        self._by_name = {b.name: b for b in self.blocks}
        self._plan: _QueryPlan | None = None

    def prepare(self) -> "ContentIndex":
        """Build the query structures now instead of on the first query."""
        if self._plan is None:
            self._plan = _QueryPlan(self)
        return self

    @property
    def block_names(self) -> list[str]:
        """Names of the blocks present, in column order."""
        return [b.name for b in self.blocks]

    @property
    def absent_blocks(self) -> list[str]:
        """Names of the blocks of :data:`BLOCK_NAMES` the data gave no columns (or no weight), sorted."""
        return sorted(set(BLOCK_NAMES) - set(self.block_names))

    # ---------------------------------------------------------- queries
    def similarity(self, seeds, weights=None) -> np.ndarray:
        """Content similarity of every track to a weighted set of seed tracks.

        Parameters
        ----------
        seeds : array-like of int, shape (n_seeds,)
            Row indices of the seed tracks.
        weights : array-like of float, shape (n_seeds,), optional
            Weight of each seed (default 1 each). The result is
            ``sum_i weights[i] * content(seeds[i], j)``.

        Returns
        -------
        ndarray of shape (n_tracks,), float64
        """
        seeds = check_rows(seeds, self.n_tracks, name="seeds")
        weights = np.ones(len(seeds)) if weights is None else \
            check_weights(weights, len(seeds), positive_sum=False)
        return self.prepare()._plan.similarity(seeds, weights)

    def similarity_by_block(self, i: int, j: int) -> dict[str, float]:
        """``{block: w_b * cos_b(i, j)}`` for two tracks; the values sum to ``content(i, j)``."""
        return {b.name: float(self._add_block_similarity(b, np.array([i]), np.array([1.0]),
                                                         None, only=j))
                for b in self.blocks}

    def _add_block_similarity(self, block, seeds, weights, out, only=None):
        """Add ``w_b * cos_b(seed profile, .)`` of one block to ``out`` (or return it for track ``only``)."""
        p = self.parts
        if block.kind == "onehot":
            codes = p[f"{block.name}_codes"]
            per_code = np.zeros(block.stop - block.start + 1)
            seed_codes = codes[seeds]
            known = seed_codes >= 0
            np.add.at(per_code, seed_codes[known], weights[known] * block.weight)
            # codes of -1 (missing) index the trailing slot, which stays 0
            values = per_code[codes] if only is None else per_code[codes[only]]
        elif block.kind == "coded":
            codes, table = p["era_codes"], p["era_table"]
            seed_codes = codes[seeds]
            known = seed_codes >= 0
            profile = weights[known] @ table[seed_codes[known]] if known.any() else \
                np.zeros(table.shape[1])
            per_code = np.append(table @ profile, 0.0)
            values = per_code[codes] if only is None else per_code[codes[only]]
        elif block.kind == "dense":
            matrix = p["audio"]
            profile = weights @ matrix[seeds]
            values = matrix @ profile if only is None else matrix[only] @ profile
        else:  # sparse tags
            csr, csc = p["tags"], p["tags_csc"]
            profile = np.zeros(csr.shape[1])
            for seed, w in zip(seeds, weights):
                lo, hi = csr.indptr[seed], csr.indptr[seed + 1]
                profile[csr.indices[lo:hi]] += w * csr.data[lo:hi]
            if only is not None:
                lo, hi = csr.indptr[only], csr.indptr[only + 1]
                return float(profile[csr.indices[lo:hi]] @ csr.data[lo:hi])
            columns = np.flatnonzero(profile)
            starts, stops = csc.indptr[columns], csc.indptr[columns + 1]
            positions = concat_ranges(starts, stops)
            contrib = csc.data[positions] * np.repeat(profile[columns], stops - starts)
            out += np.bincount(csc.indices[positions], weights=contrib, minlength=self.n_tracks)
            return out
        if only is not None:
            return float(values)
        out += values
        return out

    # ------------------------------------------------------ conversions
    def to_csr(self) -> sp.csr_matrix:
        """The full content matrix ``X``: CSR float32 of shape (n_tracks, n_features)."""
        pieces = []
        for block in self.blocks:
            width = block.stop - block.start
            if block.kind == "sparse":
                pieces.append(self.parts["tags"])
            elif block.kind == "dense":
                pieces.append(sp.csr_matrix(self.parts["audio"]))
            elif block.kind == "coded":
                codes, table = self.parts["era_codes"], self.parts["era_table"]
                rows = np.where(codes[:, None] >= 0, table[np.maximum(codes, 0)], 0.0)
                pieces.append(sp.csr_matrix(rows))
            else:
                codes = self.parts[f"{block.name}_codes"]
                known = np.flatnonzero(codes >= 0)
                values = np.full(len(known), np.sqrt(block.weight))
                pieces.append(sp.csr_matrix((values, (known, codes[known])),
                                            shape=(self.n_tracks, width)))
        if not pieces:
            return sp.csr_matrix((self.n_tracks, 0), dtype=np.float32)
        return to_csr32(sp.hstack(pieces, format="csr"))

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Flat ``{name: ndarray}`` for the artifact writer (sparse parts as data/indices/indptr)."""
        arrays = {}
        for name, part in self.parts.items():
            if sp.issparse(part):
                arrays[f"content_{name}.data"] = part.data.astype(np.float32)
                arrays[f"content_{name}.indices"] = part.indices.astype(np.int32)
                arrays[f"content_{name}.indptr"] = part.indptr.astype(np.int32)
            else:
                arrays[f"content_{name}"] = np.ascontiguousarray(part)
        return arrays

    @classmethod
    def from_arrays(cls, blocks: list[Block], n_tracks: int, arrays) -> "ContentIndex":
        """Rebuild from :meth:`to_arrays` output (arrays may be memory-mapped)."""
        parts = {}
        for block in blocks:
            if block.kind == "sparse":
                for name, shape in (("tags", (n_tracks, block.stop - block.start)),
                                    ("tags_csc", (n_tracks, block.stop - block.start))):
                    kind = sp.csc_matrix if name == "tags_csc" else sp.csr_matrix
                    parts[name] = kind((arrays[f"content_{name}.data"],
                                        arrays[f"content_{name}.indices"],
                                        arrays[f"content_{name}.indptr"]), shape=shape, copy=False)
            elif block.kind == "dense":
                parts["audio"] = arrays["content_audio"]
            elif block.kind == "coded":
                parts["era_codes"] = arrays["content_era_codes"]
                parts["era_table"] = arrays["content_era_table"]
            else:
                parts[f"{block.name}_codes"] = arrays[f"content_{block.name}_codes"]
        return cls(blocks, n_tracks, parts)


#: One-hot blocks at most this wide are folded into combined code tables of :class:`_QueryPlan`.
_SMALL_BLOCK = 64
#: Largest number of possible code tuples of one group of small blocks.
_MAX_COMBOS = 256


class _QueryPlan:
    """Query-time layout of a :class:`ContentIndex`: each block in the form that is cheapest to score.

    A query costs one compiled pass over the catalogue (:mod:`engine._kernels`)
    plus work proportional to the tracks sharing a tag or an artist with the seeds:

    * small one-hot blocks (key, mode, time signature, genre) and the era
      block depend only on a track's codes. They are packed into groups (at
      most ``_MAX_COMBOS`` possible code tuples each); within a group the
      similarity of every pair of tuples present is precomputed (``pair_``, a
      few MB). Each track is mapped to its *combo*, the tuple of its group
      tuples; a query reads the seed's rows of ``pair_``, scores every combo
      (a few thousand) and reads each track's combo value in the pass;
    * large one-hot blocks (artist) touch only the tracks sharing a seed's
      value, through an inverted index (tracks sorted by code);
    * the tags block is scattered column by column from its CSC form (the
      profile's tags only);
    * the dense audio block (float32 as stored, a few values per track) is
      multiplied by the profile in float64 in the same kernel, three
      features per vectorised pass.

    Every value is the same float64 arithmetic as the block definitions, so
    the result equals ``X @ profile`` up to the order of float additions.
    """

    def __init__(self, index: "ContentIndex"):
        parts, n = index.parts, index.n_tracks
        self.n_tracks = n
        self.tags = parts.get("tags")
        if self.tags is not None:
            self.tags_csc = parts["tags_csc"]
        audio = parts.get("audio")
        # Feature-major float32 (as stored, transposed): the kernel widens each value to float64, exactly.
        self.audio_t = np.zeros((0, n), dtype=np.float32) if audio is None else np.ascontiguousarray(audio.T)
        era_table = np.asarray(parts["era_table"], dtype=np.float64) if "era_table" in parts else None
        small, self.large = [], []
        for block in index.blocks:
            if block.kind == "coded" or (block.kind == "onehot" and block.stop - block.start <= _SMALL_BLOCK):
                codes = np.asarray(parts["era_codes" if block.kind == "coded" else f"{block.name}_codes"],
                                   dtype=np.int64)
                width = len(era_table) if block.kind == "coded" else block.stop - block.start
                small.append((block, codes, width))
            elif block.kind == "onehot":
                codes = np.asarray(parts[f"{block.name}_codes"], dtype=np.int64)
                order = np.argsort(codes, kind="stable")
                bounds = np.searchsorted(codes[order], np.arange(block.stop - block.start + 1))
                # An inverted index as CSR (row = code, columns = its tracks, values = the block weight).
                self.large.append((codes, bounds, order.astype(np.int32), np.full(n, block.weight)))
        # Per group: the tuple id of every track and the tuple x tuple similarity.
        self.tuple_of_track, self.pair = [], []
        for members in _pack(small):
            key = np.zeros(n, dtype=np.int64)
            for _, codes, width in members:  # mixed radix, missing code -1 -> digit 0
                key = key * (width + 1) + (codes + 1)
            _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
            pair = None
            for block, codes, _ in members:
                digit = codes[first]  # the block's code in each tuple (-1 = missing)
                if block.kind == "coded":
                    rows = np.where(digit[:, None] >= 0, era_table[np.maximum(digit, 0)], 0.0)
                    part = rows @ rows.T
                else:
                    part = (digit[:, None] == digit[None, :]) & (digit[:, None] >= 0)
                    part = part * block.weight
                pair = part if pair is None else pair + part
            self.tuple_of_track.append(inverse.astype(np.intp))
            self.pair.append(pair)
        if self.pair:
            key = np.zeros(n, dtype=np.int64)
            for pair, tuples in zip(self.pair, self.tuple_of_track):
                key = key * len(pair) + tuples
            _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
            self.combo_of_track = inverse.astype(np.min_scalar_type(len(first)))  # smaller: less to stream
            self.combo_tuples = np.stack([tuples[first] for tuples in self.tuple_of_track])
        else:  # no small blocks: one combo, worth 0
            self.combo_of_track = np.zeros(n, dtype=np.uint8)
            self.combo_tuples = np.zeros((0, 1), dtype=np.intp)
        # The seed profile's row of each group's pair table, padded to the widest group.
        self.row_width = max((len(pair) for pair in self.pair), default=0)

    # ------------------------------------------------------------ scoring
    def similarity(self, seeds: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """``sum_i weights[i] * content(seeds[i], .)``, shape (n_tracks,), float64."""
        single = len(seeds) == 1 and weights[0] == 1.0
        rows = np.zeros((len(self.pair), self.row_width))
        for group, (pair, tuple_of_track) in enumerate(zip(self.pair, self.tuple_of_track)):
            seed_tuples = tuple_of_track[seeds]
            rows[group, :len(pair)] = pair[seed_tuples[0]] if single else weights @ pair[seed_tuples]
        out = np.empty(self.n_tracks, dtype=np.float64)
        content_dense(rows, self.combo_tuples, self.combo_of_track, self.audio_t, seeds, weights, out)
        if self.tags is not None:
            self._add_tags(seeds, weights, out)
        for codes, bounds, tracks, values in self.large:  # only the tracks sharing a seed's value change
            seed_codes = codes[seeds]
            known = seed_codes >= 0
            scatter_rows(bounds, tracks, values, seed_codes[known], weights[known], out)
        return out

    def _add_tags(self, seeds, weights, out) -> None:
        """Add the tags block: the profile's tags, each scattered down its CSC column (tracks have
        a few tags each, so a pass over every track's row costs more even when the profile covers most tags)."""
        csr, csc = self.tags, self.tags_csc
        profile = np.zeros(csr.shape[1])
        scatter_rows(csr.indptr, csr.indices, csr.data, seeds, weights, profile)
        columns = np.flatnonzero(profile)
        scatter_rows(csc.indptr, csc.indices, csc.data, columns, profile[columns], out)


def _pack(small: list) -> list[list]:
    """Consecutive groups of ``(block, codes, width)`` with at most ``_MAX_COMBOS`` code tuples each."""
    groups, current, size = [], [], 1
    for member in small:
        width = member[2] + 1
        if current and size * width > _MAX_COMBOS:
            groups.append(current)
            current, size = [], 1
        current.append(member)
        size *= width
    if current:
        groups.append(current)
    return groups
