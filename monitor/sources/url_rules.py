"""URL rules, kept as data apart from the code that applies them (``monitor.sources.urls``):
which hosts are one site, and how AMP editions spell an article's URL."""

# Host prefixes of one site: ``m.vnexpress.net``, ``www.``, ``amp.`` and the bare domain
# are the same publisher (rel=canonical between them is trusted when the source owns the
# domain).
SAME_SITE_PREFIXES: tuple[str, ...] = ("www.", "m.", "amp.", "mobile.", "en.m.")
# AMP spellings of an article URL, folded to the article's own URL.
AMP_PATH_SUFFIXES: tuple[str, ...] = ("/amp", "/amp/", ".amp", ".amp.html", "/amp.html")
AMP_PATH_PREFIXES: tuple[str, ...] = ("/amp/",)
AMP_QUERY_FLAGS: tuple[str, ...] = ("amp", "outputtype=amp", "amp=1", "amp=true",
                                    "output=amp")

# Session IDs: a new one at each visit, never part of an article's identity
# (apache/stormcrawler#366, Norconex/crawler#311). canonicalize() removes them before the
# source's article_pattern is tested, so the canonical URL is the same at every crawl.
# Path parameters (``/a-1.html;jsessionid=8F3A…``), by name (lower case):
SESSION_PATH_PARAMS: tuple[str, ...] = ("jsessionid", "phpsessid", "sid", "sessionid",
                                        "aspsessionid", "cfid", "cftoken")
# Query parameters that are always a session (lower case; ``aspsessionid`` also prefixes
# ``ASPSESSIONIDQARTDCBS``):
SESSION_QUERY_PARAMS: tuple[str, ...] = ("phpsessid", "jsessionid", "sessionid", "session_id",
                                         "sessid", "cfid", "cftoken", "oscsid", "zenid",
                                         "bv_sessionid", "bv_engineid")
SESSION_QUERY_PREFIXES: tuple[str, ...] = ("aspsessionid",)
# Query parameters that are a session only when their value looks like a token (a story id
# is ``?sid=12345``; phpBB's session is ``?sid=`` and 32 hex digits, vBulletin's ``?s=``):
SESSION_TOKEN_PARAMS: tuple[str, ...] = ("sid", "s")
SESSION_TOKEN = r"^(?=.*[A-Za-z])[A-Za-z0-9_-]{16,}$"
# ASP.NET cookieless sessions: a path segment ``/(S(lit3py55t21z5v55vlm25s55))/``, also
# with other cookieless values (``(X(1)S(…))``, ``(A(…)F(…))``):
SESSION_PATH_SEGMENT = r"/\((?:[A-Z]\([^()/]*\))+\)(?=/)"
