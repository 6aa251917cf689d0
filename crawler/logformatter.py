"""Log lines for dropped items: one line with the reason (which names the URL), not the
item's whole dict on a second line as Scrapy's default does."""

from __future__ import annotations

from typing import Any

from scrapy.logformatter import LogFormatter, LogFormatterResult


class OneLineLogFormatter(LogFormatter):
    """Scrapy's log formatter, with ``Dropped: <reason>`` on one line."""

    def dropped(self, item: Any, exception: BaseException, response: Any,
                spider: Any) -> LogFormatterResult:
        result = super().dropped(item, exception, response, spider)
        return {**result, "msg": "Dropped: %(exception)s"}
