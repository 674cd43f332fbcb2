"""Last.fm tags of each track, calibrated to the Kaggle file's tag counts."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .calibration import (
    _DECADE_TAG_BOOST,
    _DECADE_TAGS,
    _FULL_CATALOGUE_TRACKS,
    _MAX_TAGS_PER_TRACK,
    _RAREST_TAG_COUNT,
    _STYLES,
    _TAG_BACKGROUND,
    _TAG_CALIBRATION_ROUNDS,
    _TAG_CURVE_EXPONENT,
    _TAG_RANK_DECAY,
    _TOP_TAG_COUNTS,
    _UNTAGGED_SHARE,
    TAG_VOCABULARY,
)


def _tag_targets(n_tracks):
    """Expected number of tracks carrying each tag, scaled from the full catalogue."""
    ranks = np.arange(len(_TOP_TAG_COUNTS) + 1, len(TAG_VOCABULARY) + 1)
    span = len(TAG_VOCABULARY) - len(_TOP_TAG_COUNTS)
    position = ((ranks - len(_TOP_TAG_COUNTS)) / span) ** _TAG_CURVE_EXPONENT
    last_known = _TOP_TAG_COUNTS[-1]
    tail = last_known * (_RAREST_TAG_COUNT / last_known) ** position
    full = np.concatenate([_TOP_TAG_COUNTS, tail])
    return np.maximum(full * n_tracks / _FULL_CATALOGUE_TRACKS, 1.0)


def _style_tag_weights():
    """Affinity of each style for each tag, shape (n_styles, n_tags)."""
    column = {tag: index for index, tag in enumerate(TAG_VOCABULARY)}
    weights = np.full((len(_STYLES), len(TAG_VOCABULARY)), _TAG_BACKGROUND)
    for row, style in enumerate(_STYLES):
        for rank, tag in enumerate(style.tags.split()):
            weights[row, column[tag]] += _TAG_RANK_DECAY**rank
    return weights


def _draw_tags(rng, track_style, year, popularity):
    """Tag strings such as "rock, alternative, indie"; None for untagged tracks.

    Each tagged track gets ``k >= 1`` tags, more if it is popular (more
    listeners tag it). The tags are drawn without replacement in proportion to
    style affinity times a per-tag scale (Gumbel top-k). The scales are tuned
    until the tag counts match the Kaggle frequencies. A track lists its tags
    by that weight, most characteristic first, as Last.fm's top tags do.
    """
    n_tracks, n_tags = len(track_style), len(TAG_VOCABULARY)
    targets = _tag_targets(n_tracks)
    tagged = np.ones(n_tracks, dtype=bool)
    tagged[rng.choice(n_tracks, size=round(_UNTAGGED_SHARE * n_tracks), replace=False)] = False
    appeal = np.exp(0.35 * (popularity - popularity.mean()) / popularity.std())
    extra_mean = max(targets.sum() / tagged.sum() - 1.0, 0.0)
    tag_count = 1 + rng.poisson(extra_mean * appeal / appeal[tagged].mean())
    tag_count = np.where(tagged, np.minimum(tag_count, _MAX_TAGS_PER_TRACK), 0)

    log_weight = np.log(_style_tag_weights()).astype(np.float32)[track_style]
    decade_column = np.full(n_tracks, -1)
    for decade, tag in _DECADE_TAGS.items():
        decade_column[(year // 10) * 10 == decade] = TAG_VOCABULARY.index(tag)
    in_decade = np.flatnonzero(decade_column >= 0)
    log_weight[in_decade, decade_column[in_decade]] += np.float32(np.log(_DECADE_TAG_BOOST))
    noisy = log_weight + rng.gumbel(size=log_weight.shape).astype(np.float32)

    log_scale = np.zeros(n_tags, dtype=np.float32)
    for _ in range(_TAG_CALIBRATION_ROUNDS):
        counts = _top_k_mask(noisy + log_scale, tag_count).sum(axis=0)
        # Damped multiplicative update: converges without overshooting.
        log_scale += 0.8 * (np.log(targets) - np.log(np.maximum(counts, 0.5))).astype(np.float32)

    chosen_mask = _top_k_mask(noisy + log_scale, tag_count)
    relevance = np.where(chosen_mask, log_weight + log_scale, -np.inf)
    order = np.argsort(-relevance, axis=1, kind="stable")
    chosen = order[np.arange(n_tags)[None, :] < tag_count[:, None]]
    offsets = np.concatenate([[0], np.cumsum(tag_count)]).astype(np.int32)
    tag_lists = pa.ListArray.from_arrays(
        pa.array(offsets), pa.array(TAG_VOCABULARY).take(pa.array(chosen))
    )
    joined = pc.binary_join(tag_lists, ", ").to_numpy(zero_copy_only=False)
    joined[~tagged] = None
    return joined


def _top_k_mask(keys, k):
    """Boolean mask of the ``k[i]`` largest entries of each row of ``keys``."""
    ascending = np.sort(keys, axis=1)
    n_columns = keys.shape[1]
    threshold = ascending[np.arange(len(keys)), np.clip(n_columns - k, 0, n_columns - 1)]
    threshold = np.where(k > 0, threshold, np.inf)
    return keys >= threshold[:, None]
