"""Spotify audio features of each track: the artist's sound around its style's means."""
from __future__ import annotations

import numpy as np

from .calibration import (
    _KEY_WEIGHTS,
    _RANGES,
    _SMALLEST_SCORE,
    _SOUNDS,
    _SPOKEN_SHARE,
    _TIME_SIGNATURE_WEIGHTS,
    _TIME_SIGNATURES,
    _UNANALYSED_SHARE,
    _Sound,
)


def _draw_audio(rng, track_style, track_artist, n_artists, live):
    """Spotify audio features drawn around style means, with a per-artist sound.

    Energy drives loudness (louder masters sound more energetic) and works
    against acousticness, as in Spotify's data. Live recordings (``live``)
    score high on liveness.
    """
    n = len(track_style)
    sound = np.array(_SOUNDS)[track_style]
    mean = dict(zip(_Sound._fields, sound.T))
    # An artist's tracks share a sound: a small shift of the style means.
    shift = rng.normal(0.0, 0.07, size=(n_artists, 5))[track_artist]

    danceability = _beta(rng, mean["danceability"] + shift[:, 0], 12.0)
    energy = _beta(rng, mean["energy"] + shift[:, 1], 8.0)
    valence = _beta(rng, mean["valence"] + shift[:, 2], 6.0)
    energy_gap = energy - mean["energy"]
    acousticness = _beta(rng, mean["acousticness"] + shift[:, 3] - 0.6 * energy_gap, 1.5)
    loudness = mean["loudness"] + 9.0 * energy_gap + rng.normal(0.0, 2.0, n)

    instrumental = rng.random(n) < np.clip(mean["instrumental_share"] + shift[:, 4], 0.0, 1.0)
    # Songs with vocals still get small, often exactly zero, instrumentalness scores.
    vocal_level = np.where(rng.random(n) < 0.3, 0.0, np.exp(rng.normal(np.log(2e-4), 2.0, n)))
    instrumentalness = np.where(
        instrumental, _beta(rng, np.full(n, 0.8), 10.0), np.minimum(vocal_level, 0.2)
    )
    speechiness = mean["speechiness"] * np.exp(rng.normal(0.0, 0.45, n))
    liveness = 0.03 + np.exp(rng.normal(np.log(0.1), 0.6, n))
    liveness[live] = rng.uniform(0.6, 1.0, live.sum())
    tempo = rng.normal(mean["tempo"], 22.0)
    tempo = np.clip(tempo, 40.0, None)
    duration_s = np.exp(rng.normal(np.log(mean["duration_s"]), 0.3))
    # Live sets, mixes and hidden tracks give a long tail of durations.
    epic = rng.random(n) < 0.003
    duration_s[epic] *= np.exp(rng.exponential(1.2, epic.sum()))

    spoken = rng.random(n) < _SPOKEN_SHARE
    speechiness[spoken] = rng.uniform(0.45, 0.96, spoken.sum())
    duration_s[spoken] *= 0.4
    unanalysed = rng.random(n) < _UNANALYSED_SHARE
    tempo[unanalysed] = 0.0
    danceability[unanalysed] = 0.0
    valence[unanalysed] = 0.0
    loudness[unanalysed] = rng.uniform(-60.0, -35.0, unanalysed.sum())
    time_signature = rng.choice(_TIME_SIGNATURES, size=n, p=_TIME_SIGNATURE_WEIGHTS)
    time_signature[unanalysed] = 0

    clipped = {
        "duration_ms": np.rint(duration_s * 1000.0),
        "danceability": danceability,
        "energy": energy,
        "loudness": loudness,
        "speechiness": speechiness,
        "acousticness": acousticness,
        "instrumentalness": instrumentalness,
        "liveness": liveness,
        "valence": valence,
        "tempo": tempo,
    }
    clipped = {name: np.clip(values, *_RANGES[name]) for name, values in clipped.items()}
    # Spotify reports three decimals, or three significant digits for the
    # features that are often tiny.
    return {
        "duration_ms": clipped["duration_ms"].astype(np.int64),
        "danceability": _round_decimals(clipped["danceability"], 3),
        "energy": _round_decimals(clipped["energy"], 3),
        "key": rng.choice(12, size=n, p=_KEY_WEIGHTS / _KEY_WEIGHTS.sum()).astype(np.int64),
        "loudness": _round_decimals(clipped["loudness"], 3),
        "mode": (rng.random(n) < mean["major_share"]).astype(np.int64),
        "speechiness": _round_significant(clipped["speechiness"], 3),
        "acousticness": _round_significant(clipped["acousticness"], 3),
        "instrumentalness": _round_significant(clipped["instrumentalness"], 3),
        "liveness": _round_significant(clipped["liveness"], 3),
        "valence": _round_decimals(clipped["valence"], 3),
        "tempo": _round_decimals(clipped["tempo"], 3),
        "time_signature": time_signature.astype(np.int64),
    }


def _beta(rng, mean, concentration):
    """Beta draws with the given means (clipped away from 0 and 1) and concentration."""
    mean = np.clip(mean, 0.02, 0.98)
    return rng.beta(mean * concentration, (1.0 - mean) * concentration)


def _round_decimals(values, decimals):
    # Dividing by an exact power of ten gives the double nearest the decimal,
    # which the CSV writer prints in its short form (0.355, not 0.35500000000000004).
    scale = 10.0**decimals
    return np.rint(values * scale) / scale


def _round_significant(values, digits):
    values = np.where(values < _SMALLEST_SCORE, 0.0, values)
    magnitude = np.floor(np.log10(np.where(values > 0, values, 1.0)))
    decimals = (digits - 1 - magnitude).astype(np.int64)
    scale = 10.0 ** np.abs(decimals)
    return np.where(decimals >= 0, np.rint(values * scale) / scale, np.rint(values / scale) * scale)
