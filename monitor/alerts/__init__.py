"""Alerts: tell the analyst, never twice, never lost.

``rules`` reads the alert rules and channels (config/alerts.yaml); the outbox rows are
written by change detection in the article's transaction. ``delivery`` runs the outbox's
passes (claim, send, mark, retry with backoff) through ``send`` (signed webhooks and
apprise, secrets from the environment); ``digests`` forms one message per channel and
period (``schedule``); ``messages`` renders subjects and bodies from the templates in
``templates/messages``.
"""

from monitor.alerts.delivery import (
    deliver_pending,
    list_alerts,
    retry_failed,
    send_test,
)
from monitor.alerts.messages import DEFAULT_TIMEZONE, local_time, words
from monitor.alerts.rules import (
    ALERTS_FILE,
    AlertConfig,
    channel_variables,
    load_alert_config,
    withhold_secrets,
)
from monitor.alerts.send import DeliveryError

__all__ = ["ALERTS_FILE", "DEFAULT_TIMEZONE", "AlertConfig", "DeliveryError",
           "channel_variables", "deliver_pending", "list_alerts", "load_alert_config",
           "local_time", "retry_failed", "send_test", "withhold_secrets", "words"]
