"""Parts of the explanation page that need a decision about what to show."""
from __future__ import annotations

from dash import html

from .. import figures, ids
from .graphs import graph
from ..views import audio_profile


def audio_comparison(explanation, has_audio_block: bool):
    """Both tracks' audio features side by side, or a note saying why there is none.

    Parameters
    ----------
    explanation : engine.Explanation
    has_audio_block : bool
        Whether the artifact set has an audio block at all (the Last.fm data has none).
    """
    if not has_audio_block:
        return html.P("This data set has no audio features, so there is nothing to compare here.",
                      className="text-muted mb-0", id=ids.EXPLAIN_RADAR)
    seed, track = explanation.seed, explanation.track
    seed_profile, track_profile = audio_profile(explanation.seed_audio), audio_profile(explanation.track_audio)
    missing = [t.name for t, p in ((seed, seed_profile), (track, track_profile)) if not p]
    if missing:
        return html.P(f"No audio features for {' and '.join(missing)}.", className="text-muted mb-0",
                      id=ids.EXPLAIN_RADAR)
    return graph(figures.audio_profiles(seed.name, seed_profile, track.name, track_profile), ids.EXPLAIN_RADAR)
