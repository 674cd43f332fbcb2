"""Page furniture: the navbar built from the page registry, headers, sections and stat cards."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from .. import ids


def navbar(pages) -> dbc.Navbar:
    """The top bar with one link per registered page (in registry order), the 404 page left out."""
    links = [dbc.NavItem(dbc.NavLink(page["name"], href=page["relative_path"], active="exact"))
             for page in pages if page["module"].split(".")[-1] != "not_found_404"]
    return dbc.Navbar(
        dbc.Container([
            dbc.NavbarBrand([html.I(className="bi bi-vinyl-fill me-2"), "Hybrid music recommender"], href="/"),
            dbc.Nav(links, navbar=True, className="ms-auto"),
        ], fluid="xl"),
        color="dark", dark=True, className="mb-4 shadow-sm", id=ids.NAVBAR)


def page_header(title: str, subtitle=None) -> html.Div:
    """The page's one level-one heading (styled as Bootstrap's h2) and what the page is for."""
    return html.Div([html.H1(title, className="h2 mb-1"),
                     html.P(subtitle, className="text-muted mb-3") if subtitle else None],
                    className="page-header")


def section(title: str | None, *children, subtitle=None, className: str = "mb-4 shadow-sm section",
            **kwargs) -> dbc.Card:
    """A card holding one part of a page, under its title (if any): a level-two heading, styled small."""
    body = [html.H2(title, className="h5 card-title mb-1")] if title else []
    if subtitle:
        body.append(html.P(subtitle, className="text-muted small mb-2"))
    body.extend(children)
    return dbc.Card(dbc.CardBody(body), className=className, **kwargs)


def stat_card(label: str, value: str, hint: str | None = None) -> dbc.Card:
    """One big number with its label."""
    return dbc.Card(dbc.CardBody([html.Div(value, className="stat-value"),
                                  html.Div(label, className="stat-label text-muted"),
                                  html.Div(hint, className="small text-muted") if hint else None]),
                    className="stat-card shadow-sm h-100")
