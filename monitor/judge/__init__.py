"""Judging: is an article about the topic (Vietnam–US relations by default), and why.

Topic terms are data (config/topics.yaml); ``relevance.judge`` scores title, lead and body
with reasons, beside a small learned scorer (``learned``, config/relevance_model.json).
Terms and search share one folding (``folding``: no diacritics, đ = d). ``python -m
monitor.judge.eval`` gives precision and recall on the tuning and checking halves.
"""

from monitor.judge.folding import FOLD_TABLE, fold
from monitor.judge.relevance import Topic, default_topic, explain_rows, judge, judge_lines

__all__ = ["FOLD_TABLE", "Topic", "default_topic", "explain_rows", "fold", "judge",
           "judge_lines"]
