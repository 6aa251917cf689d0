"""Browsing: the database as the analyst reads it.

``serve`` runs Datasette over the database, read-only, with the shipped metadata, canned
queries, plugins and templates (``datasette/``); ``pages`` is what the article and story
pages show (sentence-level diffs, editions, timelines); ``export`` writes JSON lines or
CSV.
"""

from monitor.browse.export import export
from monitor.browse.serve import DatabaseNotFound, check_database, serve

__all__ = ["DatabaseNotFound", "check_database", "export", "serve"]
