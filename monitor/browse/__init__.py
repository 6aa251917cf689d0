"""Browsing: the database as the analyst reads it.

``serve`` runs Datasette over the database, read-only, with the shipped metadata, canned
queries, plugins and templates (``datasette/``); ``pages`` is what the article and story
pages show (sentence-level diffs, editions, timelines); ``home`` the analyst's home page
and the watch list; ``export`` writes JSON lines or CSV.
"""

from monitor.browse.export import export
from monitor.browse.home import home_page, watch_list
from monitor.browse.serve import DatabaseNotFound, check_database, serve

__all__ = ["DatabaseNotFound", "check_database", "export", "home_page", "serve", "watch_list"]
