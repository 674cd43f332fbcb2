"""The listening history (``User Listening History.csv``): warm tracks, user tastes and
activity, distinct (track, user) pairs and their play counts.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from .calibration import (
    _ACTIVITY_SIGMA,
    _ARTIST_LOYALTY,
    _DOMINANT_STYLE_COUNTS,
    _DOMINANT_STYLE_WEIGHTS,
    _EXPLORATION_SHARE,
    _MAX_TOP_UP_ROUNDS,
    _STYLES,
    _TASTE_SLOTS,
    _ZIPF_EXPONENT,
    _ZIPF_OFFSET,
)
from .names import _HEX, _as_text, _random_codes


class _WarmIndex(NamedTuple):
    """Warm tracks arranged for vectorised sampling by style and by artist.

    ``by_style`` lists warm tracks grouped by style, most popular first.
    ``style_cdf`` is, for each entry, ``style + cumulative Zipf weight`` within
    its style. A draw for style ``s`` is therefore one ``searchsorted`` of
    ``s + u``, whatever the style of each row.
    """

    by_style: np.ndarray
    style_cdf: np.ndarray
    style_start: np.ndarray
    style_stop: np.ndarray
    by_artist: np.ndarray
    artist_start: np.ndarray
    artist_count: np.ndarray


class _Tastes(NamedTuple):
    """Each user's favourite styles (slots) and a favourite artist in each."""

    prior: np.ndarray  # (n_styles,) share of warm tracks per style
    favourite_style: np.ndarray  # (n_users, _TASTE_SLOTS)
    slot_cdf: np.ndarray  # (n_users, _TASTE_SLOTS) cumulative slot weights
    favourite_artist: np.ndarray  # (n_users, _TASTE_SLOTS)
    matrix: np.ndarray  # (n_users, n_styles) float32, rows sum to 1


def make_listens(rng, sizes, track_ids, track_style, track_artist, popularity):
    """Draw the listening history at exactly the sizes in ``sizes``.

    Pairs are drawn on the warm tracks only, repeats are merged, and more are
    drawn until there are enough. Warm tracks nobody drew go to a fan of
    their style. Surplus rows are then removed, except the rows that keep
    every user and every warm track present.
    """
    n_tracks, n_users = sizes.n_tracks, sizes.n_users
    warm = _pick_warm_tracks(rng, track_style, popularity, sizes.n_warm_tracks)
    index = _index_warm_tracks(warm, track_style, track_artist, popularity)
    tastes = _draw_tastes(rng, n_users, track_style, track_artist, warm, index)
    # The cap keeps the heaviest users from exhausting a style's few warm tracks at small scales.
    activity = _draw_activity(rng, n_users, sizes.n_listens / n_users, cap=max(50, len(warm) // 5))

    keys, draws = _distinct_pairs(rng, activity, tastes, index, n_tracks, sizes.n_listens, warm)
    keys, draws = _adopt_orphans(rng, keys, draws, warm, track_style, tastes, n_tracks)
    keys, draws = _trim(rng, keys, draws, sizes.n_listens, n_tracks)

    user = (keys // n_tracks).astype(np.int32)
    track = (keys % n_tracks).astype(np.int32)
    playcount = _draw_playcounts(rng, user, draws, n_users)
    user_ids = _random_codes(rng, n_users, 40, _HEX)
    listens = pd.DataFrame({
        "track_id": pd.Categorical.from_codes(track, categories=pd.Index(track_ids)),
        "user_id": pd.Categorical.from_codes(user, categories=pd.Index(_as_text(user_ids))),
        "playcount": playcount,
    })
    return listens, tastes.matrix


def _pick_warm_tracks(rng, track_style, popularity, n_warm):
    """Choose the tracks that get listeners; popular tracks are likelier to.

    The most popular track of every style is warm, so every style can be played.
    Returns sorted track indices.
    """
    n_tracks = len(track_style)
    by_style = np.lexsort((-popularity, track_style))
    heads = by_style[np.r_[True, track_style[by_style][1:] != track_style[by_style][:-1]]]
    heads = heads[np.argsort(-popularity[heads])][:n_warm]
    # Gumbel top-k: weighted sampling without replacement, weights exp(1.2 * popularity).
    keys = 1.2 * popularity + rng.gumbel(size=n_tracks)
    keys[heads] = np.inf
    return np.sort(np.argpartition(-keys, n_warm - 1)[:n_warm])


def _index_warm_tracks(warm, track_style, track_artist, popularity):
    n_styles = len(_STYLES)
    style = track_style[warm]
    order = np.lexsort((-popularity[warm], style))
    by_style, style_sorted = warm[order], style[order]
    style_count = np.bincount(style_sorted, minlength=n_styles)
    style_stop = np.cumsum(style_count)
    style_start = style_stop - style_count
    rank = np.arange(len(warm)) - style_start[style_sorted]
    weight = (rank + _ZIPF_OFFSET) ** -_ZIPF_EXPONENT
    cumulative = np.cumsum(weight)
    before_style = np.concatenate([[0.0], cumulative])[style_start][style_sorted]
    style_total = np.bincount(style_sorted, weights=weight, minlength=n_styles)
    style_cdf = style_sorted + (cumulative - before_style) / style_total[style_sorted]

    artist = track_artist[warm]
    by_artist = warm[np.argsort(artist, kind="stable")]
    artist_count = np.bincount(artist, minlength=track_artist.max() + 1)
    artist_start = np.cumsum(artist_count) - artist_count
    return _WarmIndex(by_style, style_cdf, style_start, style_stop,
                      by_artist, artist_start, artist_count)


def _sample_in_style(rng, index, style):
    """One warm track per entry of ``style``, Zipf-weighted by popularity rank."""
    position = np.searchsorted(index.style_cdf, style + rng.random(len(style)), side="right")
    # Rounding can put a position one step outside its style; clipping puts it back.
    position = np.clip(position, index.style_start[style], index.style_stop[style] - 1)
    return index.by_style[position]


def _sample_by_artist(rng, index, artist):
    """One warm track per entry of ``artist``, uniformly among that artist's warm tracks."""
    offset = (rng.random(len(artist)) * index.artist_count[artist]).astype(np.int64)
    return index.by_artist[index.artist_start[artist] + offset]


def _draw_tastes(rng, n_users, track_style, track_artist, warm, index):
    """Sparse taste: one to three favourite styles, with random weights, per user."""
    n_styles = len(_STYLES)
    prior = np.bincount(track_style[warm], minlength=n_styles) / len(warm)
    favourite_style = rng.choice(n_styles, size=(n_users, _TASTE_SLOTS), p=prior)
    n_dominant = rng.choice(_DOMINANT_STYLE_COUNTS, size=n_users, p=_DOMINANT_STYLE_WEIGHTS)
    slot_weight = rng.exponential(size=(n_users, _TASTE_SLOTS))
    slot_weight *= np.arange(_TASTE_SLOTS)[None, :] < n_dominant[:, None]
    slot_weight /= slot_weight.sum(axis=1, keepdims=True)
    favourite_track = _sample_in_style(rng, index, favourite_style.ravel())
    favourite_artist = track_artist[favourite_track].reshape(n_users, _TASTE_SLOTS)

    matrix = np.repeat((_EXPLORATION_SHARE * prior).astype(np.float32)[None, :], n_users, axis=0)
    users = np.arange(n_users)
    for slot in range(_TASTE_SLOTS):
        matrix[users, favourite_style[:, slot]] += (
            (1.0 - _EXPLORATION_SHARE) * slot_weight[:, slot]
        ).astype(np.float32)
    return _Tastes(prior, favourite_style, np.cumsum(slot_weight, axis=1), favourite_artist, matrix)


def _draw_activity(rng, n_users, mean, cap):
    """Rows to draw per user: lognormal with the given mean, at least 1, at most ``cap``."""
    mu = np.log(mean) - _ACTIVITY_SIGMA**2 / 2
    activity = np.rint(rng.lognormal(mu, _ACTIVITY_SIGMA, n_users))
    return np.clip(activity, 1, cap).astype(np.int64)


def _draw_pair_keys(rng, draws, tastes, index, n_tracks):
    """Draw ``draws[u]`` plays for each user ``u``; returns ``user * n_tracks + track``."""
    user = np.repeat(np.arange(len(draws)), draws)
    n = len(user)
    n_styles = len(_STYLES)
    exploring = rng.random(n) < _EXPLORATION_SHARE
    slot = (rng.random(n)[:, None] > tastes.slot_cdf[user, : _TASTE_SLOTS - 1]).sum(axis=1)
    style = tastes.favourite_style[user, slot]
    style[exploring] = rng.choice(n_styles, size=exploring.sum(), p=tastes.prior)
    track = _sample_in_style(rng, index, style)
    loyal = np.flatnonzero(~exploring & (rng.random(n) < _ARTIST_LOYALTY))
    track[loyal] = _sample_by_artist(rng, index, tastes.favourite_artist[user[loyal], slot[loyal]])
    return user * n_tracks + track


def _distinct_pairs(rng, activity, tastes, index, n_tracks, n_listens, warm):
    """Draw until the distinct pairs (plus orphan fixes) reach ``n_listens``.

    Returns sorted distinct keys and how often each was drawn.
    """
    raw = _draw_pair_keys(rng, activity, tastes, index, n_tracks)
    n_last_batch = len(raw)
    share = activity / activity.sum()
    n_distinct_before = 0
    for _ in range(_MAX_TOP_UP_ROUNDS):
        raw.sort()
        first = np.r_[True, raw[1:] != raw[:-1]]
        keys = raw[first]
        draws = np.diff(np.r_[np.flatnonzero(first), len(raw)])
        n_orphans = len(warm) - np.count_nonzero(np.bincount(keys % n_tracks, minlength=n_tracks))
        deficit = n_listens - len(keys) - n_orphans
        if deficit <= 0:
            return keys, draws
        # New draws hit known pairs more often as the log fills; aim by the last yield.
        new_per_draw = max((len(keys) - n_distinct_before) / n_last_batch, 0.02)
        n_distinct_before = len(keys)
        n_extra = int(deficit / new_per_draw * 1.1) + 100
        extra = np.bincount(rng.choice(len(activity), size=n_extra, p=share), minlength=len(activity))
        batch = _draw_pair_keys(rng, extra, tastes, index, n_tracks)
        n_last_batch = len(batch)
        raw = np.concatenate([raw, batch])
    raise RuntimeError(f"could not draw {n_listens} distinct pairs in {_MAX_TOP_UP_ROUNDS} rounds")


def _adopt_orphans(rng, keys, draws, warm, track_style, tastes, n_tracks):
    """Give each warm track that nobody drew one listener who favours its style."""
    listened = np.bincount(keys % n_tracks, minlength=n_tracks) > 0
    orphans = warm[~listened[warm]]
    if len(orphans) == 0:
        return keys, draws
    n_users = len(tastes.matrix)
    top_style = tastes.matrix.argmax(axis=1)
    fans = np.argsort(top_style, kind="stable")
    fan_count = np.bincount(top_style, minlength=len(_STYLES))
    fan_start = np.cumsum(fan_count) - fan_count
    style = track_style[orphans]
    pick = fan_start[style] + (rng.random(len(orphans)) * fan_count[style]).astype(np.int64)
    anyone = rng.integers(n_users, size=len(orphans))
    user = np.where(fan_count[style] > 0, fans[np.minimum(pick, n_users - 1)], anyone)
    new_keys = np.sort(user * n_tracks + orphans)
    at = np.searchsorted(keys, new_keys)
    return np.insert(keys, at, new_keys), np.insert(draws, at, 1)


def _trim(rng, keys, draws, n_listens, n_tracks):
    """Drop random rows down to ``n_listens``, keeping one row of every user and track."""
    excess = len(keys) - n_listens
    if excess == 0:
        return keys, draws
    user = keys // n_tracks
    first_of_user = np.r_[True, user[1:] != user[:-1]]
    first_of_track = ~pd.Series(keys % n_tracks).duplicated().to_numpy()
    removable = np.flatnonzero(~(first_of_user | first_of_track))
    keep = np.ones(len(keys), dtype=bool)
    keep[rng.choice(removable, size=excess, replace=False)] = False
    return keys[keep], draws[keep]


def _draw_playcounts(rng, user, draws, n_users):
    """Mostly 1-3 plays, more for keen users and pairs drawn repeatedly, a Pareto tail."""
    keenness = rng.normal(0.0, 1.0, n_users)
    stop = np.clip(0.6 * np.exp(-0.35 * keenness), 0.15, 0.9)[user]
    playcount = rng.geometric(stop) + 2 * (draws - 1)
    obsessed = rng.random(len(user)) < 0.03
    playcount[obsessed] += np.floor(3.0 * rng.pareto(1.7, obsessed.sum())).astype(np.int64)
    # Four digits at most, like the Echo Nest Taste Profile counts.
    return np.minimum(playcount, 9_999).astype(np.int64)
