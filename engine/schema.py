"""The input schema of the two CSV files and the names shared by build, engine and dashboard."""
from __future__ import annotations

CATALOGUE_COLUMNS = (
    "track_id", "name", "artist", "spotify_preview_url", "spotify_id", "tags", "genre", "year",
    "duration_ms", "danceability", "energy", "key", "loudness", "mode", "speechiness",
    "acousticness", "instrumentalness", "liveness", "valence", "tempo", "time_signature",
)
LISTENING_COLUMNS = ("track_id", "user_id", "playcount")

#: Continuous audio features used by the audio block, with their valid ranges.
AUDIO_FEATURES = {
    "danceability": (0.0, 1.0),
    "energy": (0.0, 1.0),
    "loudness": (-60.0, 5.0),
    "speechiness": (0.0, 1.0),
    "acousticness": (0.0, 1.0),
    "instrumentalness": (0.0, 1.0),
    "liveness": (0.0, 1.0),
    "valence": (0.0, 1.0),
    "tempo": (0.0, 300.0),
}
#: Integer-coded musical attributes with their valid ranges (inclusive).
CATEGORICAL_FEATURES = {"key": (0, 11), "mode": (0, 1), "time_signature": (0, 7)}
OTHER_NUMERIC = {"year": (1000, 2100), "duration_ms": (1, 100_000_000)}

#: Columns of the track table stored in the artifact set (``tracks.arrow``, Arrow IPC), in order.
TRACK_TABLE_COLUMNS = (
    "track_id", "name", "artist", "spotify_preview_url", "spotify_id", "tags", "genre", "year",
    "duration_ms", *AUDIO_FEATURES, "key", "mode", "time_signature",
    "n_listeners", "n_plays",
)

#: File name of the build's offline evaluation inside an artifact set (read by the dashboard).
EVALUATION_FILE = "evaluation.json"
