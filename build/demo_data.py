"""Generate a deterministic, synthetic copy of the Kaggle music data set.

The Kaggle "Million Song Dataset + Spotify + Last.fm" download has two CSVs: a
catalogue (``Music Info.csv``) and a listening log (``User Listening
History.csv``). This module writes two files with exactly the same schema and
similar statistics, so that the pipeline, the dashboard and the tests can run
without the real download::

    python -m build.demo_data --out data/raw [--scale demo|full] [--seed 42]

The data has real structure, so that recommendations built from it can be
judged. Every track belongs to one of 28 latent *styles* (classic rock,
extreme metal, hip hop, ambient, ...). A style sets the track's Last.fm tags,
genre, era and audio-feature means. Each artist has one style and a sound of
their own, shared by all their tracks. Each user likes a sparse mixture of one
to three styles (plus a little of everything). They mostly play the popular
tracks of those styles, which follow a Zipf law, and keep coming back to
favourite artists.

The same seed and scale always give the same frames and byte-identical files
on a given numpy version. numpy only promises a stable random stream within a
version.

The demo scale (5,000 tracks, 300,000 rows) takes about a second. The full
scale matches the Kaggle sizes exactly (50,683 tracks, 962,037 users,
9,711,301 rows on 30,459 warm tracks). It is fully vectorised and takes about
35 s and 1.1 GB of peak memory on a 2-core machine, a third of that writing
the 600 MB listening CSV.
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import string
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from numpy.dtypes import StringDType

from build import progress
from build.settings import CATALOGUE_FILE, LISTENING_FILE

__all__ = [
    "CATALOGUE_COLUMNS",
    "LISTENING_COLUMNS",
    "SCALES",
    "STYLE_NAMES",
    "TAG_VOCABULARY",
    "DemoData",
    "GroundTruth",
    "Scale",
    "generate",
    "main",
    "write",
]

logger = logging.getLogger(__name__)

CATALOGUE_COLUMNS = (
    "track_id", "name", "artist", "spotify_preview_url", "spotify_id", "tags", "genre",
    "year", "duration_ms", "danceability", "energy", "key", "loudness", "mode",
    "speechiness", "acousticness", "instrumentalness", "liveness", "valence", "tempo",
    "time_signature",
)
LISTENING_COLUMNS = ("track_id", "user_id", "playcount")


# --------------------------------------------------------------------------- sizes


@dataclass(frozen=True)
class Scale:
    """Sizes of one generated data set.

    Parameters
    ----------
    n_tracks : int
        Catalogue rows.
    n_artists : int
        Distinct artists. Every artist has at least one track.
    n_users : int
        Distinct users. Every user has at least one listening row.
    n_listens : int
        Listening rows, each a distinct (track, user) pair. Must be at least
        ``n_users + n_warm_tracks``, so that trimming to the exact count can
        always keep one row per user and per warm track.
    n_warm_tracks : int
        Tracks with at least one listener. The rest of the catalogue is cold.
    n_duplicate_spotify_ids : int, default=9
        Pairs of catalogue rows by the same artist that were matched to one
        Spotify track, so they share spotify_id, name and audio features.
    """

    n_tracks: int
    n_artists: int
    n_users: int
    n_listens: int
    n_warm_tracks: int
    n_duplicate_spotify_ids: int = 9

    def validate(self) -> None:
        """Raise ``ValueError`` if these sizes cannot be generated exactly."""
        for field in ("n_tracks", "n_artists", "n_users", "n_listens", "n_warm_tracks"):
            if getattr(self, field) < 1:
                raise ValueError(f"{field} must be at least 1, got {getattr(self, field)}")
        if not self.n_artists <= self.n_tracks:
            raise ValueError(
                f"n_artists must be at most n_tracks={self.n_tracks}, got {self.n_artists}"
            )
        if not self.n_warm_tracks <= self.n_tracks:
            raise ValueError(
                f"n_warm_tracks must be at most n_tracks={self.n_tracks}, got {self.n_warm_tracks}"
            )
        if self.n_listens < self.n_users + self.n_warm_tracks:
            raise ValueError(
                f"n_listens must be at least n_users + n_warm_tracks="
                f"{self.n_users + self.n_warm_tracks}, got {self.n_listens}"
            )
        # Above half of all possible pairs, rejection of repeated pairs stalls.
        if self.n_listens > self.n_users * self.n_warm_tracks // 2:
            raise ValueError(
                f"n_listens must be at most n_users * n_warm_tracks / 2="
                f"{self.n_users * self.n_warm_tracks // 2}, got {self.n_listens}"
            )
        if self.n_duplicate_spotify_ids < 0:
            raise ValueError(
                f"n_duplicate_spotify_ids must be >= 0, got {self.n_duplicate_spotify_ids}"
            )


SCALES = {
    # About a tenth of the catalogue and 3 % of the listening log: runs in seconds.
    "demo": Scale(
        n_tracks=5_000, n_artists=820, n_users=20_000, n_listens=300_000, n_warm_tracks=3_000
    ),
    # The exact sizes of the Kaggle download.
    "full": Scale(
        n_tracks=50_683,
        n_artists=8_317,
        n_users=962_037,
        n_listens=9_711_301,
        n_warm_tracks=30_459,
    ),
}

# Shares of the Kaggle catalogue, applied at every scale.
_UNTAGGED_SHARE = 0.022
_UNKNOWN_GENRE_SHARE = 0.56
_MISSING_PREVIEW_SHARE = 0.01


# --------------------------------------------------------------------------- styles


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


# --------------------------------------------------------------------------- tags

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


# --------------------------------------------------------------------------- years

# 75 distinct years. The early ones are rare, and 1900 is a placeholder year,
# as in the MSD metadata.
_YEARS = np.array([1900, 1925, 1936, 1945, *range(1952, 2023)])


# --------------------------------------------------------------------------- audio

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


# --------------------------------------------------------------------------- listening

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


# --------------------------------------------------------------------------- names

_WORD_LISTS = {
    "first": """Adam Alice Amy Ben Billy Bobby Carl Carly Chris Dan Dave Eddie Ella Emma Frank
        Grace Hank Jack Jake James Jane Jimmy Joe John Johnny Josh Julia Kate Kelly Kevin Laura
        Leo Lily Lucy Marc Maria Mark Matt Max Mia Mike Nick Nina Noah Pete Ray Rose Ruby Sam
        Sara Sean Steve Tom Tony Will Zoe Otis Etta Nat Roy Lou Patti Stevie Aretha Marvin Dolly
        Willie Waylon Merle Buddy Chet Miles Duke Billie Ruth Neil Joni Iggy Elvis Dusty Tammy""",
    "last": """Adams Allen Baker Bell Brooks Brown Burke Carter Clark Cole Cooper Davis Dixon
        Evans Fisher Ford Foster Gray Green Hall Harris Hayes Hill Holmes Hughes Jackson Jones
        Kelly King Knight Lane Lewis Long Martin Mason Miller Mitchell Moore Morgan Murphy Nash
        Nelson Owens Parker Perry Price Reed Reyes Rhodes Rogers Ross Shaw Smith Stone Stills
        Taylor Turner Walker Ward Watson West White Wilson Wood Young Cash Haggard Waters Wonder
        Redding Byrne Cohen Drake Gordon Hart Holly Keys Marley Mercer Osborne Palmer Quinn Sloan
        Tate Vance Webb Crosby Petty Springsteen Hendrix""",
    "adj": """Arctic Black Blue Bright Broken Burning Cold Crimson Crystal Dark Dead Deep Digital
        Dirty Electric Empty Endless Eternal Fading Fallen Final Flying Foreign Frozen Gentle
        Glass Golden Gray Green Happy Heavy Hidden High Hollow Holy Hungry Infinite Iron Last
        Lazy Little Lonely Lost Loud Lucky Mad Magic Midnight Modern Neon New Nervous Northern
        Old Open Pale Perfect Pretty Pure Quiet Radio Red Restless Rolling Royal Sacred Savage
        Secret Shining Silent Silver Simple Sleeping Slow Smoking Soft Solid Sonic Southern Stone
        Strange Sweet Tender Thin Twisted Urban Velvet Violent Wild Wicked Wooden Young Bitter
        Cosmic Dusty Faded Gilded Jagged Liquid Mellow Molten Rusty Starry Stormy Sunny""",
    # Nouns with a regular plural, as the templates add "s".
    "noun": """Angel Animal Arrow Beast Bird Bone Bridge Brother Candle Canyon Castle Cloud
        Comet Crow Crown Dancer Dawn Desert Diamond Dog Dragon Dream Drum Eagle Engine Eye Falcon
        Feather Fire Flame Flower Forest Garden Ghost Giant Hammer Harbor Hawk Heart Hill Horse
        Island Jewel Joker King Kitten Knight Lantern Liar Light Lion Machine Mirror Monkey Moon
        Mountain Night Owl Panther Parade Pilot Pistol Planet Prophet Queen Rabbit Raven Rebel
        River Road Rocket Rose Sailor Satellite Seed Shadow Shark Ship Signal Sister Skull
        Sparrow Spider Star Storm Stranger Sun Swan Thunder Tiger Tower Train Traveler Valley
        Vampire Wave Wheel Whisper Window Wing Wonder Bandit Cowboy Drifter Hunter Lover Saint
        Soldier Stone Wizard Zombie Orbit Ocean Cobra Magnet Ribbon""",
    "verb": """Break Burn Call Carry Catch Chase Dance Dream Drive Fall Feel Fight Find Follow
        Forget Hold Hunt Kiss Leave Lose Love Miss Move Need Paint Pray Run Save Say Shake Shine
        Sing Stay Steal Take Touch Wait Walk Want Wake Hide Heal Ride""",
    "adv": """Again Alone Away Forever Home Now Tomorrow Tonight Together Slowly Inside Outside
        Anymore Tonite Softly Tenderly Back Down""",
    "ja_kata": """アンティック エンジェル カメレオン キャンディ クリスタル サンライズ シャドウ スター
        ダイヤモンド ドリーム ネオン ハート バタフライ パレード ファントム ブルー プリズム マジック
        ミラージュ ムーン メロディ ラビリンス リズム ロケット ガーネット シルエット""",
    "ja_kanji": """珈琲店 桜 月光 夜空 星屑 花火 少年 少女 青空 雷 天使 蝶 夢 風 雪 海 虹 鏡 炎
        時計 涙 森 銀河 影 嵐 向日葵 紅 流星""",
    "ja_surname": "浜崎 宇多田 中島 松任谷 椎名 倖田 安室 福山 桑田 山下 竹内 小田 長渕 吉田 坂本 平井",
    "ja_given": "あゆみ ヒカル みゆき 由実 林檎 來未 奈美恵 雅治 佳祐 達郎 まりや 和正 剛 美和 龍一 堅",
    "ru_noun": """Кино Ария Алиса Звери Сплин Пикник Ночь Звезда Город Ветер Солнце Небо Дорога
        Море Весна Зима Любовь Песня Время Мечта Огонь Река Луна Дом Лето Осень Тень Птица
        Свобода Вьюга""",
    # Masculine nouns, so that "{ru_adj} {ru_masc}" agrees in gender.
    "ru_masc": "Город Ветер Дом Огонь Путь Поезд Сад Лес Космос Рассвет Закат Берег Трамвай",
    "ru_adj": """Белый Чёрный Красный Последний Новый Старый Тихий Звёздный Вечный Ночной Северный
        Дикий Золотой Серебряный Железный""",
    "ru_first": "Виктор Борис Юрий Андрей Валерий Илья Дмитрий Максим Сергей Олег Игорь Михаил",
    "ru_last": """Цой Гребенщиков Шевчук Кипелов Макаревич Бутусов Лагутенко Кинчев Леонтьев
        Меладзе Лепс Кузьмин Сукачёв""",
    "el_first": "Γιώργος Νίκος Κώστας Δημήτρης Σάκης Γιάννης Μανώλης Στέλιος Παντελής",
    "el_last": """Νταλάρας Μητροπάνος Ρουβάς Ρέμος Μαραβέγιας Καζαντζίδης Πάριος Χατζηγιάννης
        Παπακωνσταντίνου""",
    "el_word": "Αγάπη Θάλασσα Νύχτα Φεγγάρι Ουρανός Καρδιά Όνειρο Αστέρι Ήλιος Βροχή Τρύπες",
    "ko_last": "김 이 박 최 정 강 조 윤",
    "ko_given": "지민 서연 민준 하늘 수진 태양 보아 은지 현우 소라",
    "ko_word": "하늘 바람 별 사랑 꿈 밤 노래 눈물 봄 바다",
    "zh_last": "周 王 陈 林 李 张 刘 蔡",
    "zh_given": "杰伦 菲 奕迅 俊杰 宇春 学友 依林 慧",
    "zh_word": "月亮 夜曲 青花瓷 晴天 星空 红豆 江南 童话 蓝莲花 光年",
    "es_first": """José Juan Luis María Carmen Ana Pablo Diego Jorge Lucía Sofía Rocío Raúl
        Andrés Ramón Joaquín Mercedes Celia Héctor Tomás""",
    "es_last": """García Martínez López González Rodríguez Fernández Sánchez Pérez Gómez Díaz
        Ortega Romero Navarro Muñoz Peña Cruz Vargas Castillo Ríos Morales""",
    "es_band": "Lobos Tigres Caballeros Bravos Prisioneros Fabulosos Hermanos Piratas Enanitos Chicos",
    "es_word": """Corazón Amor Noche Luna Fuego Vida Sueño Mar Cielo Camino Beso Lágrima
        Baile Querida Olvido Canción Alma Tierra""",
    "eu_first": """Françoise Jérôme Hélène Benoît Zoé Björn Sören Jörg Jürgen Åsa Øystein Mikaël
        Léa Anaïs Günter Åke Göran Márta Lukáš Agnès""",
    "eu_last": """Dupont Müller Schäfer Björklund Ångström Lindqvist Sørensen Dvořák Nowak Lefèvre
        Bécaud Öberg Grönholm Kovačić Hübner Jönsson Fåhræus Mortensen""",
    "de_band": "Ärzte Prinzen Sterne Wölfe Träume Höhlen Brücken Zöllner Türen Fünf",
    "fr_band": "Rois Étoiles Lumières Chats Fous Anges Rêveurs Enfants Oiseaux Frères",
    "nordic": "Rós Sigur Mínus Hjarta Ljós Myrkur Vår Själ Ström Ödla Himmel Ørn Fjäll Kaizers",
    "eu_title": """Été Mädchen Hjartað Élégie Sehnsucht Liebe Rêverie Fernweh Kärlek Ensamhet
        Sommar Nuit Château Frühling Glück Hafen Ljós Fjäril""",
}
_WORDS = {key: np.array(text.split(), dtype=StringDType()) for key, text in _WORD_LISTS.items()}
_WORDS["noun_lower"] = np.strings.lower(_WORDS["noun"])

# (weight, template) per writing system; {key} draws a word from _WORD_LISTS.
_ARTIST_TEMPLATES = {
    "en": (
        (14, "The {noun}s"), (12, "The {adj} {noun}s"), (20, "{first} {last}"),
        (4, "{first} {last} & The {noun}s"), (10, "{adj} {noun}"), (6, "{noun}{noun_lower}"),
        (3, "DJ {first}"), (2, "MC {adj}"), (2, "Lil' {noun}"), (3, "{last}, {last} & {last}"),
        (2, '{first} "{adj}" {last}'), (4, "{noun}s of the {adj} {noun}"),
        (3, "{first} {last} Band"), (3, "{adj} {noun} Orchestra"), (4, "{adj}{noun_lower}"),
        (2, "{last} & {last}"), (2, "{noun} + {noun}"),
    ),
    "ja": (
        (3, "{ja_kata}-{ja_kanji}-"), (4, "{ja_surname}{ja_given}"), (3, "{ja_kata}{ja_kata}"),
        (2, "{ja_kanji}{ja_kata}"), (1, "{adj} {ja_kata}"),
    ),
    "ru": (
        (4, "{ru_noun}"), (4, "{ru_first} {ru_last}"), (3, "{ru_adj} {ru_masc}"),
        (2, "{ru_noun} и {ru_noun}"), (1, "Группа {ru_noun}"),
    ),
    "el": ((3, "{el_first} {el_last}"), (1, "{el_word}")),
    "ko": ((3, "{ko_last}{ko_given}"), (1, "{ko_word}"), (1, "{ko_word}{ko_word}")),
    "zh": ((3, "{zh_last}{zh_given}"), (1, "{zh_word}")),
    "es": (
        (5, "{es_first} {es_last}"), (2, "{es_first} {es_last} y su Orquesta"),
        (3, "Los {es_band}"), (2, "{es_first} y {es_first}"), (1, "Los {es_band} de {es_last}"),
    ),
    "eu": (
        (5, "{eu_first} {eu_last}"), (2, "Die {de_band}"), (2, "Les {fr_band}"),
        (2, "{nordic} {nordic}"), (1, "{eu_last}"),
    ),
}
_TITLE_TEMPLATES = {
    "en": (
        (16, "{adj} {noun}"), (12, "{noun}"), (5, "{verb} Me {adv}"), (6, "{verb} the {noun}"),
        (2, "Mr. {adj}"), (4, "{noun} of the {noun}s"), (4, "I {verb} You"),
        (3, "{noun}, {noun}"), (2, "{verb}, {verb}, {verb}"), (2, '"{adj} {noun}"'),
        (2, "The {noun}'s {noun}"), (3, "{adj} {noun}s"), (2, "{verb} ({adv})"),
        (3, "{verb} {adv}"), (2, "{noun} Song"), (1, "{noun} in the {noun}"),
    ),
    "ja": ((3, "{ja_kanji}"), (2, "{ja_kanji}の{ja_kanji}"), (2, "{ja_kata}"),
           (1, "{ja_kanji}{ja_kata}")),
    "ru": ((3, "{ru_noun}"), (2, "{ru_adj} {ru_masc}"), (1, "{ru_noun} и {ru_noun}")),
    "el": ((1, "{el_word}"),),
    "ko": ((2, "{ko_word}"), (1, "{ko_word} {ko_word}")),
    "zh": ((1, "{zh_word}"),),
    "es": ((3, "{es_word}"), (2, "{es_word} de {es_word}"), (2, "Mi {es_word}"),
           (1, "¿{es_word}?")),
    "eu": ((3, "{eu_title}"), (1, "{eu_title} ({adj} Mix)")),
}
# Version markers appended to some titles; the first three mark live recordings.
_TITLE_SUFFIXES = np.array(
    [" (Live)", " - Live", " [Live]", " (Remastered)", " (Album Version)", " [Demo]",
     " (Acoustic)", " (Remix)", " (Radio Edit)", "*", " [Bonus Track]", " (Reprise)"],
    dtype=StringDType(),
)
_LIVE_SUFFIXES = 3
_TITLE_SUFFIX_SHARE = 0.08
_SCRIPTS = tuple(_ARTIST_TEMPLATES)
# Artists outside their style's usual script: covers, expats, international acts.
_FOREIGN_ARTIST_SHARE = 0.08
_FOREIGN_SCRIPT_WEIGHTS = {
    "en": 0.45, "eu": 0.15, "es": 0.12, "ja": 0.08, "ru": 0.07, "el": 0.04, "ko": 0.05, "zh": 0.04,
}
# Artists in another script who still title songs in English.
_ENGLISH_TITLE_SHARE = 0.25
_MAX_RENAME_ROUNDS = 30

_UPPER_ALNUM = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_BASE62 = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_HEX = b"0123456789abcdef"
_PREVIEW_PREFIX = b"https://p.scdn.co/mp3-preview/"


# --------------------------------------------------------------------------- results


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


# --------------------------------------------------------------------------- public API


def generate(scale: str | Scale = "demo", seed: int = 42) -> DemoData:
    """Generate a catalogue and a listening history.

    Parameters
    ----------
    scale : {"demo", "full"} or Scale, default="demo"
        A named size from ``SCALES`` or explicit sizes.
    seed : int, default=42
        Seed of all randomness; the same seed and scale give identical data.

    Returns
    -------
    DemoData
        The two frames and the ground truth they were drawn from.
    """
    sizes = _resolve_scale(scale)
    started = time.perf_counter()
    catalogue_rng, listening_rng = (
        np.random.default_rng(child) for child in np.random.SeedSequence(seed).spawn(2)
    )
    tracks, truth, popularity = _make_catalogue(catalogue_rng, sizes)
    listens, user_taste = _make_listens(
        listening_rng, sizes, tracks["track_id"], truth.track_style, truth.track_artist, popularity
    )
    truth = dataclasses.replace(truth, user_taste=user_taste)
    logger.info(
        "generated %d tracks and %d listening rows (seed %d) in %.1f s",
        len(tracks), len(listens), seed, time.perf_counter() - started,
    )
    return DemoData(tracks=tracks, listens=listens, truth=truth)


def write(data: DemoData, out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write both CSVs into ``out_dir``, replacing any previous ones.

    Each file is written under a temporary name in ``out_dir``. Both are
    renamed into place (each rename is atomic) only after both are complete,
    so a reader never sees a half-written file.

    Parameters
    ----------
    data : DemoData
        What ``generate`` returned.
    out_dir : path-like
        Output directory, created if needed.

    Returns
    -------
    dict of str to Path
        The written paths, keyed by file name.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = (
        (CATALOGUE_FILE, _write_catalogue, data.tracks),
        (LISTENING_FILE, _write_listens, data.listens),
    )
    staged: list[tuple[Path, Path]] = []
    try:
        for name, write_csv, frame in jobs:
            temporary = out_dir / f".{name}.{os.getpid()}.tmp"
            staged.append((temporary, out_dir / name))
            started = time.perf_counter()
            write_csv(frame, temporary)
            logger.info(
                "wrote %d rows to %s in %.1f s",
                len(frame), out_dir / name, time.perf_counter() - started,
            )
        for temporary, final in staged:
            os.replace(temporary, final)
    finally:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)
    return {final.name: final for _, final in staged}


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: generate and write the two CSVs."""
    parser = argparse.ArgumentParser(
        prog="python -m build.demo_data",
        description="Write a synthetic, deterministic copy of the Kaggle music CSVs.",
    )
    parser.add_argument("--out", required=True, type=Path, help="output directory")
    parser.add_argument("--scale", choices=sorted(SCALES), default="demo",
                        help="data set size (default: demo)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default: 42)")
    args = parser.parse_args(argv)
    progress.setup()
    started = time.perf_counter()
    write(generate(args.scale, args.seed), args.out)
    logger.info("done in %.1f s", time.perf_counter() - started)
    return 0


def _resolve_scale(scale: str | Scale) -> Scale:
    if isinstance(scale, Scale):
        sizes = scale
    elif scale in SCALES:
        sizes = SCALES[scale]
    else:
        raise ValueError(f"scale must be one of {sorted(SCALES)} or a Scale, got {scale!r}")
    sizes.validate()
    return sizes


# --------------------------------------------------------------------------- catalogue


def _make_catalogue(rng: np.random.Generator, sizes: Scale):
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


def _draw_artist_scripts(rng, artist_style):
    style_script = np.array([_SCRIPTS.index(style.script) for style in _STYLES])
    script = style_script[artist_style]
    foreign = rng.random(len(script)) < _FOREIGN_ARTIST_SHARE
    weights = np.array([_FOREIGN_SCRIPT_WEIGHTS[name] for name in _SCRIPTS])
    script[foreign] = rng.choice(len(_SCRIPTS), size=foreign.sum(), p=weights / weights.sum())
    return script


def _unique_artist_names(rng, artist_script):
    """One distinct name per artist, in the artist's writing system."""
    names = _compose_by_script(rng, _ARTIST_TEMPLATES, artist_script)
    for _ in range(_MAX_RENAME_ROUNDS):
        repeated = pd.Series(names).duplicated().to_numpy()
        if not repeated.any():
            return names
        names[repeated] = _compose_by_script(rng, _ARTIST_TEMPLATES, artist_script[repeated])
    # Small scripts can run out of combinations; numbering keeps names distinct.
    repeated = np.flatnonzero(pd.Series(names).duplicated().to_numpy())
    names[repeated] = np.strings.add(np.strings.add(names[repeated], " "), repeated.astype(str))
    return names


def _draw_song_names(rng, track_script):
    """Song titles, and whether each one names a live recording."""
    english = rng.random(len(track_script)) < _ENGLISH_TITLE_SHARE
    title_script = np.where(english, _SCRIPTS.index("en"), track_script)
    names = _compose_by_script(rng, _TITLE_TEMPLATES, title_script)
    versioned = np.flatnonzero(rng.random(len(names)) < _TITLE_SUFFIX_SHARE)
    suffix = rng.integers(len(_TITLE_SUFFIXES), size=len(versioned))
    names[versioned] = np.strings.add(names[versioned], _TITLE_SUFFIXES[suffix])
    live = np.zeros(len(names), dtype=bool)
    live[versioned[suffix < _LIVE_SUFFIXES]] = True
    return names, live


def _compose_by_script(rng, templates_by_script, script):
    """Fill, for each row, a template of that row's writing system."""
    text = np.empty(len(script), dtype=StringDType())
    for code, name in enumerate(_SCRIPTS):
        rows = np.flatnonzero(script == code)
        text[rows] = _compose(rng, templates_by_script[name], len(rows))
    return text


def _compose(rng, templates, n):
    """Draw a template per row by weight and fill its ``{word-list}`` fields."""
    weights = np.array([weight for weight, _ in templates], dtype=float)
    choice = rng.choice(len(templates), size=n, p=weights / weights.sum())
    text = np.empty(n, dtype=StringDType())
    for index, (_, template) in enumerate(templates):
        rows = np.flatnonzero(choice == index)
        filled = np.full(len(rows), "", dtype=StringDType())
        for literal, field, _, _ in string.Formatter().parse(template):
            filled = np.strings.add(filled, literal)
            if field is not None:
                words = _WORDS[field]
                filled = np.strings.add(filled, words[rng.integers(len(words), size=len(rows))])
        text[rows] = filled
    return text


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


def _random_codes(rng, n, length, alphabet):
    """``n`` distinct random codes of ``length`` characters, as a bytes array."""
    lookup = np.frombuffer(alphabet, dtype=np.uint8)
    chars = lookup[rng.integers(len(lookup), size=(n, length), dtype=np.uint8)]
    while True:
        # Distinct 8-character prefixes imply distinct codes, and prefixes compare
        # cheaply as one uint64 each.
        prefix = np.ascontiguousarray(chars[:, :8]).view(np.uint64).ravel()
        repeated = pd.Series(prefix).duplicated().to_numpy()
        if not repeated.any():
            return chars.view(f"S{length}").ravel()
        chars[repeated] = lookup[rng.integers(len(lookup), size=(repeated.sum(), length), dtype=np.uint8)]


def _draw_preview_urls(rng, n_tracks):
    # One API client id for the whole file, as when one person scraped the previews.
    client = _random_codes(rng, 1, 32, _HEX)[0]
    urls = np.char.add(
        np.char.add(_PREVIEW_PREFIX, _random_codes(rng, n_tracks, 40, _HEX)), b"?cid=" + client
    )
    urls = urls.astype(StringDType()).astype(object)
    urls[rng.choice(n_tracks, size=round(_MISSING_PREVIEW_SHARE * n_tracks), replace=False)] = None
    return urls


def _as_text(values):
    """A pandas ``str`` column (NaN for missing) from bytes, numpy strings or objects."""
    if values.dtype.kind == "S":
        # Arrow decodes ASCII ids ~20x faster than numpy's string casts.
        return pa.array(values).cast(pa.string()).to_pandas()
    return pd.Series(values, dtype="str")


# --------------------------------------------------------------------------- listening history


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


def _make_listens(rng, sizes, track_ids, track_style, track_artist, popularity):
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


# --------------------------------------------------------------------------- writing


def _write_catalogue(tracks, path):
    # pandas quotes only fields that need it and prints floats in their
    # shortest form, as in the Kaggle file.
    tracks.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")


_LISTENING_CHUNK_ROWS = 1 << 20


def _write_listens(listens, path):
    """Write the listening log with pyarrow, a chunk at a time, to bound memory."""
    track_codes, track_ids = _codes_and_labels(listens["track_id"])
    user_codes, user_ids = _codes_and_labels(listens["user_id"])
    playcount = listens["playcount"].to_numpy(dtype=np.int64)
    schema = pa.schema([(name, pa.string()) for name in LISTENING_COLUMNS[:2]]
                       + [("playcount", pa.int64())])
    # Ids and integers never need quotes; "none" makes pyarrow fail loudly if one would.
    options = pa_csv.WriteOptions(include_header=False, quoting_style="none")
    with open(path, "wb") as sink:
        sink.write((",".join(LISTENING_COLUMNS) + "\n").encode())
        with pa_csv.CSVWriter(sink, schema, write_options=options) as writer:
            for start in range(0, len(listens), _LISTENING_CHUNK_ROWS):
                rows = slice(start, start + _LISTENING_CHUNK_ROWS)
                writer.write_table(pa.table({
                    "track_id": track_ids.take(pa.array(track_codes[rows])),
                    "user_id": user_ids.take(pa.array(user_codes[rows])),
                    "playcount": pa.array(playcount[rows]),
                }, schema=schema))


def _codes_and_labels(column):
    """Integer codes and a pyarrow array of labels for a categorical or plain column."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes, labels = column.cat.codes.to_numpy(), column.cat.categories
    else:
        codes, labels = pd.factorize(column)
    return codes, pa.array(np.asarray(labels, dtype=object), type=pa.string())


if __name__ == "__main__":
    raise SystemExit(main())
