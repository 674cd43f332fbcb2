"""Shared widgets: controls, track and recommendation lists, notices and page furniture."""
from .controls import (alpha_control, k_control, method_control, register_track_search, search_options,
                       track_picker)
from .explain import audio_comparison
from .graphs import graph, graph_props
from .layout import navbar, page_header, section, stat_card
from .messages import empty_state, no_artifacts, notice
from .tracks import (audio_player, history_list, new_badge, recommendation_list, score_legend, tag_badges,
                     track_card, track_option)

__all__ = ["audio_comparison", "graph", "graph_props", "alpha_control", "k_control", "method_control",
           "register_track_search", "search_options", "track_picker",
           "navbar", "page_header", "section", "stat_card", "empty_state", "no_artifacts", "notice", "audio_player",
           "history_list", "new_badge", "recommendation_list", "score_legend", "tag_badges", "track_card",
           "track_option"]
