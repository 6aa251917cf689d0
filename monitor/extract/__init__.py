"""Extraction: one fetched page → clean text and metadata.

``extract`` (in ``article``) decodes the bytes (``charset``), reads the site profile's
body container block by block (``blocks``) or the whole page through trafilatura with
generic clean-up (``fusion``, the optional extractor ``vote``), and reads title, author,
date with zone and language (``pagemeta``); generic rules are data in ``rules``.
``doctor`` shows what each profile rule matches on a live page; ``python -m
monitor.extract.eval`` is the extraction benchmark (F1 against plain trafilatura).
``learn`` induces a site profile from several article pages of one site; ``onboard``
finds a new site's feeds and sitemaps, proposes its article pattern and writes the source
and its learned profile into their files.
"""

from monitor.extract import onboard
from monitor.extract.article import Extracted, content_hash, extract, normalize_text
from monitor.extract.doctor import DoctorError, diagnose
from monitor.extract.learn import LearnedProfile, LearnError, learn_profile

__all__ = ["DoctorError", "Extracted", "LearnError", "LearnedProfile", "content_hash",
           "diagnose", "extract", "learn_profile", "normalize_text", "onboard"]
