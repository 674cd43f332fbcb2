"""What the generator returns: the two frames and the ground truth they were drawn from."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class GroundTruth:
    """The latent structure the data was drawn from, for tests and sanity checks.

    Attributes
    ----------
    style_names : tuple of str, length n_styles
        Name of each latent style.
    track_style : ndarray of shape (n_tracks,), dtype int64
        Style of each catalogue row.
    track_artist : ndarray of shape (n_tracks,), dtype int64
        Artist index of each catalogue row, into ``artist_style``.
    artist_style : ndarray of shape (n_artists,), dtype int64
        Style of each artist.
    user_taste : ndarray of shape (n_users, n_styles), dtype float32
        Probability that a play of the user is drawn from each style; rows sum to 1.
        Row ``u`` is the user whose code in ``listens.user_id`` is ``u``.
    """

    style_names: tuple[str, ...]
    track_style: np.ndarray
    track_artist: np.ndarray
    artist_style: np.ndarray
    user_taste: np.ndarray


@dataclass(frozen=True)
class DemoData:
    """One generated data set.

    Attributes
    ----------
    tracks : DataFrame of shape (n_tracks, 21)
        The catalogue, columns in ``CATALOGUE_COLUMNS`` order, with the dtypes that
        ``pandas.read_csv`` gives for the written file; missing values are NaN.
    listens : DataFrame of shape (n_listens, 3)
        ``track_id``, ``user_id`` and ``playcount`` (int64), sorted by user. The id
        columns are categoricals, which keeps the full scale small: the codes of
        ``track_id`` are catalogue row numbers and the codes of ``user_id`` are
        rows of ``truth.user_taste``.
    truth : GroundTruth
        The latent structure behind both frames.
    """

    tracks: pd.DataFrame
    listens: pd.DataFrame
    truth: GroundTruth
