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
