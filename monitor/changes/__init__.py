"""Change detection: what an extracted article is to what is stored.

``Ingestor`` (in ``ingest``) decides per article, in one transaction: unchanged, a new
version (with a diff, ``diff``, and its edit kinds, ``edits``), a copy, a near-duplicate
or another language's edition (``dedupe``), or a new story; text that changes by itself
is masked first (``volatile``). ``removals`` turns articles the site says are gone into
``removed`` events; ``recheck`` is the re-check schedule of stored articles (when each
is looked at again, which first on a budget). Rules are data in ``rules`` and
``entity_rules``; ``python -m monitor.changes.eval`` measures the edit classifier.
"""

from monitor.changes import recheck, removals, rules
from monitor.changes.dedupe import signature
from monitor.changes.ingest import Ingestor, analyze

__all__ = ["Ingestor", "analyze", "recheck", "removals", "rules", "signature"]
