"""The catalogue (``Music Info.csv``): artists, styles, Spotify duplicates, years, genres and
preview URLs, assembled into one frame with its ground truth.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.dtypes import StringDType

from engine.schema import CATALOGUE_COLUMNS

from .audio import _draw_audio
from .calibration import (
    _GENRE_NOISE,
    _GENRES,
    _MISSING_PREVIEW_SHARE,
    _OFF_STYLE_SHARE,
    _STYLES,
    _UNKNOWN_GENRE_SHARE,
    _YEARS,
    STYLE_NAMES,
)
from .names import (
    _BASE62,
    _HEX,
    _PREVIEW_PREFIX,
    _UPPER_ALNUM,
    _as_text,
    _draw_artist_scripts,
    _draw_song_names,
    _random_codes,
    _unique_artist_names,
)
from .results import GroundTruth
from .sizes import Scale
from .tags import _draw_tags


def make_catalogue(rng: np.random.Generator, sizes: Scale):
    """Draw the catalogue frame, its ground truth and a latent popularity per track."""
    n_tracks = sizes.n_tracks
    artist_style, artist_popularity, track_artist = _draw_artists(rng, sizes)
    track_style = _draw_track_styles(rng, track_artist, artist_style)
    source, copy = _pick_duplicate_pairs(rng, track_artist, sizes.n_duplicate_spotify_ids)
    # The two rows of a pair are one recording, so they share everything Spotify knows.
    track_style[copy] = track_style[source]
    popularity = artist_popularity[track_artist] + rng.normal(0.0, 0.8, n_tracks)

    year = _draw_years(rng, artist_style, track_artist)
    year[copy] = year[source]
    tags = _draw_tags(rng, track_style, year, popularity)
    genre = _draw_genres(rng, track_style)

    artist_script = _draw_artist_scripts(rng, artist_style)
    artist_names = _unique_artist_names(rng, artist_script)
    names, live = _draw_song_names(rng, artist_script[track_artist])
    audio = _draw_audio(rng, track_style, track_artist, len(artist_style), live)

    track_ids = np.char.add(b"TR", _random_codes(rng, n_tracks, 16, _UPPER_ALNUM))
    spotify_ids = _random_codes(rng, n_tracks, 22, _BASE62)
    previews = _draw_preview_urls(rng, n_tracks)
    for column in (names, spotify_ids, previews, *audio.values()):
        column[copy] = column[source]

    columns = {
        "track_id": _as_text(track_ids),
        "name": _as_text(names),
        "artist": _as_text(artist_names[track_artist]),
        "spotify_preview_url": _as_text(previews),
        "spotify_id": _as_text(spotify_ids),
        "tags": _as_text(tags),
        "genre": _as_text(genre),
        "year": year.astype(np.int64),
        **audio,
    }
    tracks = pd.DataFrame({name: columns[name] for name in CATALOGUE_COLUMNS})
    truth = GroundTruth(
        style_names=STYLE_NAMES,
        track_style=track_style,
        track_artist=track_artist,
        artist_style=artist_style,
        user_taste=np.empty((0, len(_STYLES)), dtype=np.float32),
    )
    return tracks, truth, popularity


def _draw_artists(rng, sizes):
    """Give each artist a style, a popularity and a heavy-tailed number of tracks."""
    shares = np.array([style.share for style in _STYLES])
    artist_style = rng.choice(len(_STYLES), size=sizes.n_artists, p=shares / shares.sum())
    artist_popularity = rng.normal(0.0, 1.0, sizes.n_artists)
    # Prolific artists tend to be the popular ones.
    output = np.exp(0.5 * artist_popularity + rng.normal(0.0, 0.9, sizes.n_artists))
    extra = rng.multinomial(sizes.n_tracks - sizes.n_artists, output / output.sum())
    track_artist = np.repeat(np.arange(sizes.n_artists), 1 + extra)
    # Shuffle so that the catalogue is not grouped by artist.
    return artist_style, artist_popularity, rng.permutation(track_artist)


def _draw_track_styles(rng, track_artist, artist_style):
    track_style = artist_style[track_artist].copy()
    off_style = rng.random(len(track_style)) < _OFF_STYLE_SHARE
    shares = np.array([style.share for style in _STYLES])
    track_style[off_style] = rng.choice(len(_STYLES), size=off_style.sum(), p=shares / shares.sum())
    return track_style


def _pick_duplicate_pairs(rng, track_artist, n_pairs):
    """Pick ``n_pairs`` pairs of tracks by the same artist, as (source, copy) rows."""
    by_artist = np.argsort(track_artist, kind="stable")
    counts = np.bincount(track_artist)
    candidates = np.flatnonzero(counts >= 2)
    if len(candidates) < n_pairs:
        raise ValueError(
            f"n_duplicate_spotify_ids must be at most the number of artists with two tracks "
            f"({len(candidates)}), got {n_pairs}"
        )
    artists = rng.choice(candidates, size=n_pairs, replace=False)
    first = np.searchsorted(track_artist[by_artist], artists)
    return by_artist[first], by_artist[first + 1]


def _draw_years(rng, artist_style, track_artist):
    """Draw release years from each artist's era and snap them to the 75 Kaggle years."""
    year_mean = np.array([style.year_mean for style in _STYLES])[artist_style]
    year_sd = np.array([style.year_sd for style in _STYLES])[artist_style]
    artist_year = rng.normal(year_mean, year_sd)
    raw = artist_year[track_artist] + rng.normal(0.0, 3.0, len(track_artist))
    raw = np.clip(np.rint(raw), _YEARS[0], _YEARS[-1]).astype(np.int64)
    calendar = np.arange(_YEARS[0], _YEARS[-1] + 1)
    nearest = _YEARS[np.abs(calendar[:, None] - _YEARS[None, :]).argmin(axis=1)]
    year = nearest[raw - _YEARS[0]]
    # Every one of the 75 years occurs, as in the real file; borrow a few tracks
    # from the busiest year for the ones the draw missed.
    counts = np.bincount(np.searchsorted(_YEARS, year), minlength=len(_YEARS))
    missing = _YEARS[counts == 0]
    busiest = _YEARS[counts.argmax()]
    if 0 < len(missing) < counts.max():
        donors = rng.choice(np.flatnonzero(year == busiest), size=len(missing), replace=False)
        year[donors] = missing
    return year


def _draw_genres(rng, track_style):
    """Genre word of each style; a little noise; missing for 56 % of tracks."""
    n_tracks = len(track_style)
    style_genre = np.array([_GENRES.index(style.genre) for style in _STYLES])
    genre = style_genre[track_style]
    noisy = rng.random(n_tracks) < _GENRE_NOISE
    genre[noisy] = rng.integers(len(_GENRES), size=noisy.sum())
    text = np.array(_GENRES, dtype=object)[genre]
    unknown = rng.choice(n_tracks, size=round(_UNKNOWN_GENRE_SHARE * n_tracks), replace=False)
    text[unknown] = None
    return text


def _draw_preview_urls(rng, n_tracks):
    # One API client id for the whole file, as when one person scraped the previews.
    client = _random_codes(rng, 1, 32, _HEX)[0]
    urls = np.char.add(
        np.char.add(_PREVIEW_PREFIX, _random_codes(rng, n_tracks, 40, _HEX)), b"?cid=" + client
    )
    urls = urls.astype(StringDType()).astype(object)
    urls[rng.choice(n_tracks, size=round(_MISSING_PREVIEW_SHARE * n_tracks), replace=False)] = None
    return urls
