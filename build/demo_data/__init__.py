"""Generate a deterministic, synthetic copy of the Kaggle music data set.

The Kaggle "Million Song Dataset + Spotify + Last.fm" download has two CSVs: a
catalogue (``Music Info.csv``) and a listening log (``User Listening
History.csv``). This module writes two files with exactly the same schema and
similar statistics, so that the pipeline, the dashboard and the tests can run
without the real download::

    python -m build.demo_data --out data/raw [--scale demo|full] [--seed 42] [--multiplier 1]

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
the 600 MB listening CSV. ``--multiplier m`` multiplies every count of a scale
(``--scale full --multiplier 2``: twice the tracks, artists, users and rows), for
measuring how the build grows (``make bench-scale``).

Where each concern lives:

- :mod:`~build.demo_data.sizes`: :class:`Scale` and the named :data:`SCALES`;
- :mod:`~build.demo_data.calibration`: every constant measured on the Kaggle files;
- :mod:`~build.demo_data.names`: artist names, song titles and random ids;
- :mod:`~build.demo_data.catalogue`, :mod:`~build.demo_data.tags`,
  :mod:`~build.demo_data.audio`: the catalogue and its tags and audio features;
- :mod:`~build.demo_data.listening`: the listening history;
- :mod:`~build.demo_data.generator` (:func:`generate`), :mod:`~build.demo_data.files`
  (:func:`write`) and :mod:`~build.demo_data.cli` (``python -m build.demo_data``).
"""
from __future__ import annotations

from engine.schema import CATALOGUE_COLUMNS, LISTENING_COLUMNS

from .calibration import STYLE_NAMES, TAG_VOCABULARY
from .cli import main
from .files import write
from .generator import generate
from .results import DemoData, GroundTruth
from .sizes import SCALES, Scale

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
