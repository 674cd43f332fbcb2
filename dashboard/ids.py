"""Component ids, unique across the app (Dash Pages share one id space), prefixed by page."""

# app shell
SESSION_STORE = "app-session-tracks"
NAVBAR = "app-navbar"

# Discover (/)
DISCOVER_URL = "discover-url"
DISCOVER_TRACK = "discover-track"
DISCOVER_METHOD = "discover-method"
DISCOVER_ALPHA = "discover-alpha"
DISCOVER_K = "discover-k"
DISCOVER_NOTICE = "discover-notice"
DISCOVER_RESULTS = "discover-results"

# Explain (/explain)
EXPLAIN_HEADER = "explain-header"
EXPLAIN_FACTS = "explain-facts"
EXPLAIN_BLOCKS = "explain-blocks"
EXPLAIN_RADAR = "explain-radar"
EXPLAIN_TAGS = "explain-tags"
EXPLAIN_RANKS = "explain-ranks"
EXPLAIN_ESTIMATE = "explain-estimate"

# alpha sensitivity (/alpha)
ALPHA_URL = "alpha-url"
ALPHA_TRACK = "alpha-track"
ALPHA_K = "alpha-k"
ALPHA_NOTICE = "alpha-notice"
ALPHA_REQUEST = "alpha-request"
ALPHA_PROGRESS = "alpha-progress"
ALPHA_PROGRESS_BOX = "alpha-progress-box"
ALPHA_RESULTS = "alpha-results"
ALPHA_METRIC = "alpha-metric"
ALPHA_BUMP = "alpha-bump"
ALPHA_OVERLAP = "alpha-overlap"
ALPHA_EXTREMES = "alpha-extremes"
ALPHA_METRICS = "alpha-metrics"
ALPHA_PROTOCOLS = "alpha-protocols"

# For you (/user)
USER_URL = "user-url"
USER_TABS = "user-tabs"
USER_PICK = "user-pick"
USER_RANDOM = "user-random"
USER_ALPHA = "user-alpha"
USER_NOTICE = "user-notice"
USER_HISTORY = "user-history"
USER_RECS = "user-recs"
USER_TO_SESSION = "user-to-session"
SESSION_PICK = "session-pick"
SESSION_ALPHA = "session-alpha"
SESSION_LIST = "session-list"
SESSION_RECS = "session-recs"
SESSION_CLEAR = "session-clear"
SESSION_REMOVE = "session-remove"  # pattern-matching type: {"type": SESSION_REMOVE, "index": track_id}

# Data (/data)
DATA_STATS = "data-stats"
DATA_LONG_TAIL = "data-long-tail"
DATA_ACTIVITY = "data-activity"
DATA_AUDIO = "data-audio"
DATA_TAGS = "data-tags"
DATA_MANIFEST = "data-manifest"
DATA_TIMINGS = "data-timings"
DATA_EVALUATION = "data-evaluation"
DATA_MODELS = "data-models"
DATA_NEW_RELEASES = "data-new-releases"
