"""Calibration constants, in one place: the shares, styles, sounds, genres, tag counts, years
and audio ranges measured on the Kaggle download, and the parameters of listening behaviour.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

# Shares of the Kaggle catalogue, applied at every scale.
_UNTAGGED_SHARE = 0.022
_UNKNOWN_GENRE_SHARE = 0.56
_MISSING_PREVIEW_SHARE = 0.01


class _Style(NamedTuple):
    """One latent style: who plays it, when, and how Last.fm tags it."""

    name: str
    genre: str
    share: float  # relative number of artists
    year_mean: float
    year_sd: float
    script: str  # writing system of most artist names, a key of _ARTIST_TEMPLATES
    tags: str  # most characteristic tag first


class _Sound(NamedTuple):
    """Mean audio features of one style (Spotify's definitions)."""

    danceability: float
    energy: float
    loudness: float  # dB
    speechiness: float
    acousticness: float
    instrumental_share: float  # share of tracks without vocals
    valence: float
    tempo: float  # BPM
    major_share: float  # share of tracks in a major key
    duration_s: float


_STYLES = (
    _Style("classic_rock", "Rock", 6.0, 1974, 7, "en",
           "rock classic_rock 70s hard_rock 60s psychedelic blues_rock progressive_rock "
           "male_vocalists british folk_rock"),
    _Style("indie_rock", "Rock", 9.0, 2005, 5, "en",
           "indie rock indie_rock alternative british 00s post_punk garage_rock indie_pop "
           "male_vocalists"),
    _Style("alternative_rock", "Rock", 8.0, 1998, 6, "en",
           "alternative rock alternative_rock 90s grunge 00s indie male_vocalists pop_rock hard_rock"),
    _Style("post_rock", "Rock", 3.0, 2004, 6, "en",
           "post_rock instrumental experimental ambient shoegaze indie dream_pop rock alternative"),
    _Style("punk", "Punk", 4.0, 1994, 9, "en",
           "punk punk_rock rock hardcore 90s pop_punk alternative ska garage_rock"),
    _Style("emo", "Punk", 3.5, 2004, 4, "en",
           "emo rock pop_punk alternative screamo punk 00s indie hardcore"),
    _Style("heavy_metal", "Metal", 4.0, 1987, 9, "en",
           "metal heavy_metal hard_rock rock thrash_metal 80s progressive_metal progressive_rock"),
    _Style("extreme_metal", "Metal", 4.0, 2003, 6, "en",
           "metal death_metal black_metal metalcore melodic_death_metal doom_metal screamo "
           "hardcore progressive_metal swedish"),
    _Style("nu_metal", "Metal", 2.5, 2001, 3, "en",
           "nu_metal metal rock alternative industrial hard_rock alternative_rock 00s"),
    _Style("pop", "Pop", 7.0, 2005, 7, "en",
           "pop female_vocalists dance 00s pop_rock rnb male_vocalists electronic soul"),
    _Style("new_wave", "Pop", 3.5, 1984, 4, "en",
           "80s new_wave synthpop pop electronic post_punk british dance rock"),
    _Style("dance", "Electronic", 5.0, 2005, 6, "en",
           "electronic dance house electro techno trance electronica drum_and_bass dubstep"),
    _Style("ambient", "Electronic", 4.0, 2002, 7, "en",
           "electronic ambient electronica experimental idm chillout instrumental downtempo "
           "dark_ambient"),
    _Style("trip_hop", "Electronic", 3.5, 2000, 5, "en",
           "chillout electronic trip_hop downtempo lounge electronica female_vocalists jazz ambient"),
    _Style("industrial", "Electronic", 2.5, 1995, 8, "en",
           "industrial electronic gothic gothic_rock metal experimental dark_ambient rock german "
           "post_punk"),
    _Style("hip_hop", "Rap", 4.5, 2001, 7, "en",
           "hip_hop rap 00s 90s male_vocalists rnb soul funk"),
    _Style("soul_rnb", "RnB", 4.0, 1985, 16, "en",
           "soul rnb funk female_vocalists motown 70s 60s pop dance jazz"),
    _Style("jazz", "Jazz", 3.0, 1963, 14, "en",
           "jazz instrumental swing lounge piano soul blues bossa_nova chillout 50s"),
    _Style("blues", "Blues", 2.5, 1966, 14, "en",
           "blues blues_rock classic_rock rock 60s 50s soul male_vocalists americana"),
    _Style("country", "Country", 3.0, 1994, 16, "en",
           "country americana folk singer_songwriter male_vocalists female_vocalists acoustic "
           "folk_rock"),
    _Style("folk", "Folk", 5.0, 2003, 10, "en",
           "folk singer_songwriter acoustic indie female_vocalists folk_rock male_vocalists "
           "americana chillout piano"),
    _Style("reggae", "Reggae", 1.5, 1985, 14, "en",
           "reggae ska latin 70s chillout hip_hop punk"),
    _Style("latin", "Latin", 1.5, 1992, 15, "es",
           "latin spanish bossa_nova jazz pop dance chillout"),
    _Style("j_pop", "World", 1.5, 2005, 5, "ja",
           "japanese j_pop j_rock anime visual_kei rock pop female_vocalists metal"),
    _Style("russian", "World", 0.8, 2003, 7, "ru",
           "russian rock pop alternative punk female_vocalists"),
    _Style("soundtrack", "New Age", 2.5, 1998, 12, "en",
           "soundtrack instrumental ambient classical piano new_age chillout experimental"),
    _Style("oldies", "Rock", 2.0, 1960, 5, "en",
           "60s 50s rock pop soul motown swing classic_rock blues"),
    _Style("europop", "Pop", 1.5, 1998, 12, "eu",
           "pop dance female_vocalists french german swedish spanish electronic 80s 90s"),
)

# One row per style, in the order of _STYLES.
_SOUNDS = (
    _Sound(0.50, 0.68, -9.5, 0.040, 0.25, 0.08, 0.60, 124, 0.78, 255),  # classic_rock
    _Sound(0.50, 0.72, -6.5, 0.042, 0.12, 0.10, 0.45, 126, 0.62, 225),  # indie_rock
    _Sound(0.46, 0.78, -6.0, 0.045, 0.07, 0.05, 0.40, 124, 0.64, 235),  # alternative_rock
    _Sound(0.33, 0.52, -11.0, 0.038, 0.30, 0.75, 0.20, 116, 0.55, 400),  # post_rock
    _Sound(0.44, 0.91, -5.0, 0.070, 0.02, 0.04, 0.52, 152, 0.70, 165),  # punk
    _Sound(0.44, 0.86, -4.5, 0.060, 0.03, 0.03, 0.40, 142, 0.66, 215),  # emo
    _Sound(0.38, 0.88, -6.5, 0.065, 0.01, 0.18, 0.34, 130, 0.55, 300),  # heavy_metal
    _Sound(0.29, 0.95, -4.8, 0.095, 0.003, 0.30, 0.17, 128, 0.45, 290),  # extreme_metal
    _Sound(0.48, 0.90, -4.2, 0.080, 0.01, 0.04, 0.37, 120, 0.52, 225),  # nu_metal
    _Sound(0.66, 0.68, -5.5, 0.060, 0.14, 0.02, 0.55, 118, 0.66, 215),  # pop
    _Sound(0.63, 0.66, -10.0, 0.040, 0.12, 0.12, 0.62, 124, 0.66, 245),  # new_wave
    _Sound(0.72, 0.80, -6.5, 0.065, 0.03, 0.55, 0.42, 127, 0.55, 330),  # dance
    _Sound(0.47, 0.34, -15.5, 0.048, 0.58, 0.85, 0.19, 112, 0.55, 330),  # ambient
    _Sound(0.63, 0.45, -11.5, 0.065, 0.38, 0.55, 0.33, 100, 0.50, 290),  # trip_hop
    _Sound(0.55, 0.80, -7.0, 0.060, 0.04, 0.30, 0.30, 126, 0.45, 275),  # industrial
    _Sound(0.76, 0.67, -6.2, 0.250, 0.12, 0.02, 0.55, 100, 0.55, 235),  # hip_hop
    _Sound(0.66, 0.56, -8.0, 0.075, 0.30, 0.03, 0.64, 112, 0.60, 225),  # soul_rnb
    _Sound(0.54, 0.33, -13.0, 0.050, 0.72, 0.45, 0.50, 116, 0.55, 310),  # jazz
    _Sound(0.52, 0.52, -10.0, 0.050, 0.48, 0.10, 0.60, 114, 0.70, 250),  # blues
    _Sound(0.58, 0.56, -8.0, 0.040, 0.38, 0.02, 0.60, 122, 0.88, 210),  # country
    _Sound(0.52, 0.34, -11.5, 0.042, 0.76, 0.08, 0.40, 116, 0.72, 225),  # folk
    _Sound(0.76, 0.60, -8.0, 0.120, 0.14, 0.05, 0.75, 120, 0.60, 240),  # reggae
    _Sound(0.68, 0.62, -8.0, 0.060, 0.38, 0.05, 0.70, 118, 0.55, 230),  # latin
    _Sound(0.52, 0.84, -4.8, 0.055, 0.07, 0.04, 0.53, 136, 0.62, 265),  # j_pop
    _Sound(0.55, 0.72, -7.0, 0.055, 0.14, 0.03, 0.50, 122, 0.45, 240),  # russian
    _Sound(0.29, 0.21, -18.5, 0.045, 0.88, 0.80, 0.17, 106, 0.62, 265),  # soundtrack
    _Sound(0.58, 0.48, -10.5, 0.050, 0.62, 0.03, 0.74, 124, 0.82, 165),  # oldies
    _Sound(0.66, 0.70, -6.5, 0.050, 0.14, 0.04, 0.60, 122, 0.62, 225),  # europop
)

STYLE_NAMES = tuple(style.name for style in _STYLES)

# The genre words of the Kaggle file (its genre column comes from MSD genre labels).
_GENRES = (
    "Rock", "Pop", "Electronic", "Rap", "Jazz", "Metal", "RnB", "Country", "Reggae", "Blues",
    "Folk", "Punk", "World", "Latin", "New Age",
)

# Share of tracks whose style differs from their artist's (side projects, one-off collaborations).
_OFF_STYLE_SHARE = 0.06
# Share of labelled tracks whose genre disagrees with their style.
_GENRE_NOISE = 0.05


# Last.fm-style tags, most frequent first. Spaces became underscores.
TAG_VOCABULARY = (
    "rock", "indie", "electronic", "alternative", "pop", "alternative_rock", "female_vocalists",
    "indie_rock", "00s", "metal", "electronica", "experimental", "singer_songwriter", "90s", "punk",
    "hard_rock", "chillout", "instrumental", "80s", "ambient", "dance", "soul", "post_rock",
    "classic_rock", "hip_hop", "folk", "jazz", "acoustic", "emo", "progressive_rock", "psychedelic",
    "heavy_metal", "british", "70s", "pop_rock", "funk", "blues", "indie_pop", "punk_rock", "rnb",
    "male_vocalists", "electro", "downtempo", "house", "death_metal", "shoegaze",
    "progressive_metal", "trip_hop", "new_wave", "rap", "metalcore", "hardcore", "post_punk",
    "synthpop", "country", "black_metal", "soundtrack", "thrash_metal", "lounge", "60s", "techno",
    "idm", "nu_metal", "reggae", "industrial", "pop_punk", "grunge", "garage_rock", "dream_pop",
    "screamo", "trance", "gothic", "doom_metal", "melodic_death_metal", "j_pop", "japanese",
    "folk_rock", "blues_rock", "americana", "drum_and_bass", "piano", "classical", "dark_ambient",
    "new_age", "latin", "ska", "dubstep", "motown", "swing", "bossa_nova", "visual_kei", "j_rock",
    "anime", "french", "german", "spanish", "swedish", "50s", "gothic_rock", "russian",
)

# Tag counts in the full Kaggle catalogue of 50,683 tracks: the five most common
# are known exactly, the rarest is near 127, and the ranks in between follow a
# curve in log space. An exponent of 0.8 gives ~2.6 tags per tagged track.
_FULL_CATALOGUE_TRACKS = 50_683
_TOP_TAG_COUNTS = (10_681, 7_284, 6_592, 6_271, 4_650)
_RAREST_TAG_COUNT = 127
_TAG_CURVE_EXPONENT = 0.8

# Weight of a style's r-th listed tag is _TAG_RANK_DECAY ** r; unlisted tags get
# _TAG_BACKGROUND so that any track can carry any tag, rarely.
_TAG_RANK_DECAY = 0.82
_TAG_BACKGROUND = 0.003
# Decade tags (70s, 00s, ...) follow a track's year, not only its style.
_DECADE_TAG_BOOST = 6.0
_DECADE_TAGS = {1950: "50s", 1960: "60s", 1970: "70s", 1980: "80s", 1990: "90s", 2000: "00s"}
_MAX_TAGS_PER_TRACK = 20
_TAG_CALIBRATION_ROUNDS = 12


# 75 distinct years. The early ones are rare, and 1900 is a placeholder year,
# as in the MSD metadata.
_YEARS = np.array([1900, 1925, 1936, 1945, *range(1952, 2023)])


# Spotify key (pitch class) frequencies: C, G, D and A are the most common keys.
_KEY_WEIGHTS = np.array([12.0, 10.5, 10.5, 3.0, 7.5, 8.5, 6.5, 11.5, 6.5, 10.0, 6.5, 7.5])
_TIME_SIGNATURES = np.array([0, 1, 3, 4, 5])
_TIME_SIGNATURE_WEIGHTS = np.array([0.002, 0.013, 0.075, 0.895, 0.015])
# Tracks Spotify could not analyse: tempo, danceability and time signature are 0.
_UNANALYSED_SHARE = 0.0008
# Skits, interviews and poems: short tracks that are mostly speech.
_SPOKEN_SHARE = 0.004
# Spotify reports scores below this as 0 in practice; tinier floats only look odd.
_SMALLEST_SCORE = 1e-6

# (min, max) of each numeric column in the Kaggle catalogue.
_RANGES = {
    "duration_ms": (1_439, 3_816_373),
    "danceability": (0.0, 0.986),
    "energy": (0.0, 1.0),
    "loudness": (-60.0, 3.64),
    "speechiness": (0.0, 0.954),
    "acousticness": (0.0, 0.996),
    "instrumentalness": (0.0, 0.999),
    "liveness": (0.0, 0.999),
    "valence": (0.0, 0.993),
    "tempo": (0.0, 238.9),
}


_TASTE_SLOTS = 3  # at most three favourite styles per user
_DOMINANT_STYLE_COUNTS = np.array([1, 2, 3])
_DOMINANT_STYLE_WEIGHTS = np.array([0.35, 0.40, 0.25])
# Share of plays outside a user's favourite styles: radio, friends, chance.
_EXPLORATION_SHARE = 0.08
# Share of the other plays that go to a favourite artist rather than a popular track.
_ARTIST_LOYALTY = 0.30
# Within a style, warm track of popularity rank r is drawn with weight (r + offset) ** -exponent.
_ZIPF_EXPONENT = 1.1
_ZIPF_OFFSET = 1.5
# Rows per user are lognormal; sigma sets how heavy the tail of very active users is.
_ACTIVITY_SIGMA = 1.1
_MAX_TOP_UP_ROUNDS = 50
