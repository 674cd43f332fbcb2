"""Compiled inner loops of a query (numba): one pass over memory where numpy needs several.

A query at full scale touches a few MB; in numpy each step (gather, scale,
scatter-add, min, max, compare) is its own pass with its own temporary array,
plus a few microseconds of dispatch, which together cost more than the data.
Each kernel here does the same float64 arithmetic as the numpy definition it
replaces (float32 inputs are widened to float64, which is exact), so results
differ only in the order of float additions.

Kernels are compiled on first use and cached on disk next to this module
(``__pycache__``, or ``NUMBA_CACHE_DIR``);
:meth:`engine.hybrid.HybridScorer.warm_up` runs one query of each kind (after
``prepare`` built the numpy query structures) so that they are ready before
the first real one. ``nogil``: several threads can query at once.
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["scatter_rows", "scatter_rows_through", "content_dense", "best_among", "estimate_cold",
           "profile_scores", "seed_rows", "rank_within_rows",
           "range_over_candidates", "ranges_over_candidates", "top_contenders"]

_KERNEL = dict(cache=True, nogil=True, boundscheck=False)


@njit(**_KERNEL)
def scatter_rows(indptr, indices, data, rows, weights, out):
    """``out[c] += weights[r] * M[rows[r], c]`` over the stored entries of the CSR rows ``rows``.

    The rows' bounds are read in a first loop, where the (random) reads do
    not wait on each other, so the memory latency of many rows overlaps;
    reading each bound just before its row would pay it row by row.
    """
    starts = np.empty(rows.size, dtype=np.int64)
    stops = np.empty(rows.size, dtype=np.int64)
    for r in range(rows.size):
        starts[r], stops[r] = indptr[rows[r]], indptr[rows[r] + 1]
    for r in range(rows.size):
        weight = weights[r]
        for p in range(starts[r], stops[r]):
            out[indices[p]] += weight * data[p]


@njit(**_KERNEL)
def scatter_rows_through(left_indptr, left_indices, left_data, right_indptr, right_indices, right_data,
                         seeds, weights, user_weight, out):
    """``out += (weights @ L[seeds]) @ R``: the seeds' listeners first, then each listener's row once.

    ``user_weight`` (float64, one per listener, all zero) is scratch space
    for merging the listeners of several seeds; it is left all zero again.
    """
    n_entries = 0
    for s in range(seeds.size):
        n_entries += left_indptr[seeds[s] + 1] - left_indptr[seeds[s]]
    listeners = np.empty(n_entries, dtype=np.int64)
    listener_weights = np.empty(n_entries, dtype=np.float64)
    n_listeners = 0
    if seeds.size == 1:  # a seed's listeners are distinct: no merging needed
        for p in range(left_indptr[seeds[0]], left_indptr[seeds[0] + 1]):
            listeners[n_listeners] = left_indices[p]
            listener_weights[n_listeners] = weights[0] * left_data[p]
            n_listeners += 1
    else:
        for s in range(seeds.size):
            seed, weight = seeds[s], weights[s]
            for p in range(left_indptr[seed], left_indptr[seed + 1]):
                user = left_indices[p]
                if user_weight[user] == 0.0:
                    listeners[n_listeners] = user
                    n_listeners += 1
                user_weight[user] += weight * left_data[p]
        for t in range(n_listeners):
            listener_weights[t] = user_weight[listeners[t]]
            user_weight[listeners[t]] = 0.0
    scatter_rows(right_indptr, right_indices, right_data, listeners[:n_listeners],
                 listener_weights[:n_listeners], out)


@njit(**_KERNEL)
def content_dense(rows, combo_tuples, combo_of_track, audio_t, seeds, weights, out):
    """The content similarity of every track in the blocks that cover all tracks (see engine.content).

    ``out[j] = combo[combo_of_track[j]] + sum_f profile[f] * audio_t[f, j]``, where
    ``combo[c] = sum_g rows[g, combo_tuples[g, c]]`` scores each combination of
    small-block codes from the seed profile's rows of the groups' pair tables,
    and ``profile = audio_t[:, seeds] @ weights``. Feature-major ``audio_t``
    (n_features, n_tracks): the features are added three at a time in
    contiguous, vectorised passes (a per-track dot product would wait on each
    addition in turn).
    """
    combo = np.zeros(combo_tuples.shape[1])
    for g in range(combo_tuples.shape[0]):
        for c in range(combo.size):
            combo[c] += rows[g, combo_tuples[g, c]]
    for j in range(out.size):
        out[j] = combo[combo_of_track[j]]
    n_features = audio_t.shape[0]
    profile = np.zeros(n_features)
    for f in range(n_features):
        for s in range(seeds.size):
            profile[f] += weights[s] * audio_t[f, seeds[s]]
    f = 0
    while f + 2 < n_features:
        w0, w1, w2 = profile[f], profile[f + 1], profile[f + 2]
        r0, r1, r2 = audio_t[f], audio_t[f + 1], audio_t[f + 2]
        for j in range(out.size):
            out[j] += w0 * r0[j] + w1 * r1[j] + w2 * r2[j]
        f += 3
    for f in range(f, n_features):
        weight, values = profile[f], audio_t[f]
        for j in range(out.size):
            out[j] += weight * values[j]


@njit(cache=True, nogil=True, boundscheck=False, fastmath={"nnan", "nsz"})
def _extremes(values, start, stop, lo, hi):
    """``(min, max)`` of ``lo``, ``hi`` and ``values[start:stop]``.

    Assuming no NaN (scores hold none) lets the loop be vectorised; min and
    max give the same result in any order, so nothing is approximated.
    """
    for j in range(start, stop):
        lo = min(lo, values[j])
        hi = max(hi, values[j])
    return lo, hi


@njit(**_KERNEL)
def ranges_over_candidates(content, collab, excluded):
    """``(content_lo, content_hi, collab_lo, collab_hi)`` over the tracks not in ``excluded`` (sorted, unique).

    Both components in one pass over the runs of candidates, as a query needs them. Returns infinities
    when every track is excluded.
    """
    content_lo, content_hi, collab_lo, collab_hi = np.inf, -np.inf, np.inf, -np.inf
    start = 0
    for e in range(excluded.size + 1):  # the runs of candidates between excluded tracks
        stop = excluded[e] if e < excluded.size else content.size
        content_lo, content_hi = _extremes(content, start, stop, content_lo, content_hi)
        collab_lo, collab_hi = _extremes(collab, start, stop, collab_lo, collab_hi)
        start = stop + 1
    return content_lo, content_hi, collab_lo, collab_hi


@njit(**_KERNEL)
def range_over_candidates(values, excluded):
    """``(min, max)`` of one component over the tracks not in ``excluded``, as :func:`ranges_over_candidates`."""
    lo, hi = np.inf, -np.inf
    start = 0
    for e in range(excluded.size + 1):
        stop = excluded[e] if e < excluded.size else values.size
        lo, hi = _extremes(values, start, stop, lo, hi)
        start = stop + 1
    return lo, hi


@njit(**_KERNEL)
def _kth_largest(values, k):
    """The ``k``-th largest of ``values`` (1 <= k <= values.size), through a min-heap of the ``k`` largest."""
    heap = np.full(k, -np.inf)
    for value in values:
        if value > heap[0]:
            heap[0] = value
            position = 0
            while True:  # sift down
                child = 2 * position + 1
                if child >= k:
                    break
                if child + 1 < k and heap[child + 1] < heap[child]:
                    child += 1
                if heap[position] <= heap[child]:
                    break
                heap[position], heap[child] = heap[child], heap[position]
                position = child
    return heap[0]


#: Tracks per block of :func:`top_contenders`; the block maxima bound the k-th best value from below.
_BLOCK = 64


@njit(cache=True, nogil=True, boundscheck=False, fastmath={"nnan", "nsz"})
def _blend_max(content, collab, a, b, start, stop):
    """``max(content[j] * a + collab[j] * b)`` over ``start <= j < stop`` (vectorised, as :func:`_extremes`)."""
    best = -np.inf
    for j in range(start, stop):
        best = max(best, content[j] * a + collab[j] * b)
    return best


@njit(**_KERNEL)
def top_contenders(content, collab, a, b, excluded, k, margin):
    """Tracks whose ``content * a + collab * b`` is within ``margin`` of the ``k``-th largest.

    Over the tracks not in ``excluded`` (sorted, unique); ``1 <= k <=`` their
    number. The ``k``-th largest block maximum is a lower bound of the
    ``k``-th largest value, so after one pass for the block maxima only the
    blocks reaching it are read again. Returns int64 track indices, ascending.
    """
    n = content.size
    n_blocks = (n + _BLOCK - 1) // _BLOCK
    maxima = np.empty(n_blocks)
    e = 0
    for block in range(n_blocks):
        start, stop = block * _BLOCK, min(n, (block + 1) * _BLOCK)
        if e < excluded.size and excluded[e] < stop:  # a block with excluded tracks: one by one
            best = -np.inf
            for j in range(start, stop):
                if e < excluded.size and excluded[e] == j:
                    e += 1
                else:
                    best = max(best, content[j] * a + collab[j] * b)
            maxima[block] = best
        else:
            maxima[block] = _blend_max(content, collab, a, b, start, stop)
    bound = _kth_largest(maxima, k) - margin if n_blocks >= k else -np.inf
    pool = np.empty(n, dtype=np.int64)
    values = np.empty(n)
    size, e = 0, 0
    for block in range(n_blocks):
        if maxima[block] < bound:
            continue
        for j in range(block * _BLOCK, min(n, (block + 1) * _BLOCK)):
            while e < excluded.size and excluded[e] < j:
                e += 1
            value = content[j] * a + collab[j] * b
            if value >= bound and not (e < excluded.size and excluded[e] == j):
                pool[size], values[size] = j, value
                size += 1
    threshold = _kth_largest(values[:size], k) - margin
    return pool[:size][values[:size] >= threshold]


@njit(**_KERNEL)
def best_among(values, eligible, m, out_index, out_value):
    """The ``m`` largest ``values[j]`` with ``eligible[j]``, best first (ties: lower ``j`` first).

    Writes ``out_index`` / ``out_value`` (length ``m``) and returns how many
    were found (fewer than ``m`` when fewer tracks are eligible). A sorted
    insertion into ``m`` slots: one pass over ``values``, ``m`` is small.
    """
    found = 0
    for j in range(values.size):
        if not eligible[j]:
            continue
        value = values[j]
        if found < m:  # a free slot at the end
            position = found
            found += 1
        elif value > out_value[m - 1]:  # replaces the last of the m best
            position = m - 1
        else:
            continue
        while position > 0 and out_value[position - 1] < value:  # equal values keep the lower j first
            out_index[position], out_value[position] = out_index[position - 1], out_value[position - 1]
            position -= 1
        out_index[position], out_value[position] = j, value
    return found


@njit(**_KERNEL)
def estimate_cold(collab, rows, neighbours, weights):
    """``collab[rows[r]] = sum_t weights[r, t] * collab[neighbours[r, t]]`` for every cold row ``r``.

    ``neighbours`` are tracks with listeners (never in ``rows``), so every
    estimate reads measured values only, whatever the order of the rows.
    """
    m = neighbours.shape[1]
    for r in range(rows.size):
        total = 0.0
        for t in range(m):
            total += weights[r, t] * collab[neighbours[r, t]]
        collab[rows[r]] = total


@njit(**_KERNEL)
def profile_scores(left_indptr, left_indices, left_data, right_indptr, right_indices, right_data,
                   profile_indptr, profile_indices, profile_data, shared_slot, shared_rows, user_weight, out):
    """``out[r] += sum_p profile_data[p] * s(profile_indices[p], .)`` for each profile (CSR row) ``r``.

    A seed with ``shared_slot[seed] >= 0`` adds its precomputed dense row
    ``shared_rows[slot]`` (worth it for a seed many profiles share); the
    others are gathered through their listeners as
    :func:`scatter_rows_through` does for one query. ``out`` is
    (n_profiles, n_tracks), C-ordered; ``user_weight`` is zeroed scratch.
    """
    n_tracks = out.shape[1]
    for r in range(profile_indptr.size - 1):
        lo, hi = profile_indptr[r], profile_indptr[r + 1]
        n_light = 0
        for p in range(lo, hi):
            if shared_slot[profile_indices[p]] < 0:
                n_light += 1
        seeds = np.empty(n_light, dtype=np.int64)
        weights = np.empty(n_light, dtype=np.float64)
        q = 0
        for p in range(lo, hi):
            if shared_slot[profile_indices[p]] < 0:
                seeds[q], weights[q] = profile_indices[p], profile_data[p]
                q += 1
        row = out[r]
        if n_light:
            scatter_rows_through(left_indptr, left_indices, left_data, right_indptr, right_indices, right_data,
                                 seeds, weights, user_weight, row)
        for p in range(lo, hi):
            slot = shared_slot[profile_indices[p]]
            if slot >= 0:
                weight, shared = profile_data[p], shared_rows[slot]
                for j in range(n_tracks):
                    row[j] += weight * shared[j]


@njit(**_KERNEL)
def seed_rows(left_indptr, left_indices, left_data, right_indptr, right_indices, right_data,
              seeds, user_weight, out):
    """``out[h] = s(seeds[h], .)`` for each seed: one single-seed gather each (``out`` zeroed)."""
    one = np.ones(1)
    for h in range(seeds.size):
        scatter_rows_through(left_indptr, left_indices, left_data, right_indptr, right_indices, right_data,
                             seeds[h:h + 1], one, user_weight, out[h])


@njit(**_KERNEL)
def rank_within_rows(indptr, keys, out):
    """``out[p]`` = position of ``keys[p]`` in its CSR row sorted ascending (stable: ties keep their order)."""
    for r in range(indptr.size - 1):
        lo, hi = indptr[r], indptr[r + 1]
        order = np.argsort(keys[lo:hi], kind="mergesort")
        for position in range(hi - lo):
            out[lo + order[position]] = position
