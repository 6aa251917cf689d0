"""The per-page extractor vote (``monitor.extract.vote``), opt-in on pages without a profile."""

from __future__ import annotations

import pytest

from monitor.extract import extract, vote

STORY = ("Deputy Prime Minister Bui Thanh Son met the US Ambassador in Hanoi on Tuesday to "
         "discuss trade, education and the legacy of war between the two countries. ")


def test_pick_prefers_the_candidate_the_others_agree_with() -> None:
    body = STORY * 3
    menu = "Home World Business Sport Video Podcasts Newsletters Subscribe Sign in " * 3
    voices = {"a": body, "b": body + menu, "c": body, "d": body}
    assert vote.pick({"b": body + menu, "a": body}, voices) == "a"
    assert vote.pick({"a": body, "b": body + menu}, voices) == "a"
    # too few voices: the first candidate stays
    assert vote.pick({"b": body + menu, "a": body}, {"a": body, "b": body + menu}) == "b"


def test_agreement_is_a_shingle_f1() -> None:
    a, b = vote.shingle_set("one two three four five"), vote.shingle_set("one two three four")
    assert vote.agreement(a, a) == 1.0 and vote.agreement(a, vote.shingle_set("")) == 0.0
    assert 0 < vote.agreement(a, b) < 1


def test_real_voters_run_and_the_vote_keeps_the_article() -> None:
    pytest.importorskip("readability")
    paragraphs = "".join(f"<p>{STORY} Paragraph {i} adds more detail on the talks.</p>"
                         for i in range(6))
    html = ("<html lang='en'><head><title>Talks</title></head><body><nav><a href='/'>Home</a>"
            f"<a href='/w'>World</a></nav><article><h1>Talks</h1>{paragraphs}</article>"
            "<footer>© Example</footer></body></html>")
    voices = vote.run_voters(html, None, "en")
    assert len(voices) >= vote.rules.VOTE_MIN_VOTERS
    result = extract(html, "https://example.com/a-1", vote=True)
    assert result is not None and "Paragraph 5 adds more detail" in result.text
    assert "Home" not in result.text
