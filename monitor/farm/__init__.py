"""A replica "site farm" of the source sites, served on 127.0.0.x for tests and the demo."""

from monitor.farm.content import FarmArticle, load_corpus
from monitor.farm.server import Farm, FarmError
from monitor.farm.sites import SITES

__all__ = ["SITES", "Farm", "FarmArticle", "FarmError", "load_corpus"]
