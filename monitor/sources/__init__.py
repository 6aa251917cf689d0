"""Sources: what is watched and how its articles are found.

The sources file and site profiles (``config``), ``cron:`` schedules read as crontab
reads them in the configured zone (``cron``), the outlets at a glance (``outlets``),
discovery formats (feeds, sitemaps, autodiscovery, link rules: ``discovery``), canonical
URLs (``urls``, with their data in ``url_rules``) and each source's health against its
own baseline (``health``). The bottom stage: it imports no other newswatch package.
"""

from monitor.sources import discovery, health
from monitor.sources.config import (
    CONFIG_DIR,
    DEFAULT_CONFIG,
    DEMO_CONFIG,
    PROFILES_FILE,
    PROJECT_ROOT,
    BoundedLoader,
    ConfigError,
    DateRule,
    Recheck,
    Settings,
    SiteProfile,
    Source,
    load_settings,
    seconds,
    with_recheck,
)
from monitor.sources.cron import DEFAULT_TIMEZONE, crontab_trigger
from monitor.sources.outlets import load_outlets
from monitor.sources.urls import canonicalize, registered_domain, site_of, trusted_canonical

__all__ = [
    "CONFIG_DIR", "DEFAULT_CONFIG", "DEFAULT_TIMEZONE", "DEMO_CONFIG", "PROFILES_FILE",
    "PROJECT_ROOT", "BoundedLoader", "ConfigError", "DateRule", "Recheck", "Settings",
    "SiteProfile", "Source", "canonicalize", "crontab_trigger", "discovery", "health",
    "load_outlets", "load_settings", "registered_domain", "seconds", "site_of",
    "trusted_canonical", "with_recheck",
]
