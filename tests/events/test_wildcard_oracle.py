"""The wildcard operator's matcher against an independent oracle (dynamic programming over
pattern and text), on generated patterns and strings: `*` is any run, `\\*` a literal
star, `\\\\` a literal backslash."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mamori.services.events.patterns import PatternError, parse_wildcard, wildcard_match


def oracle(pattern: str, text: str) -> bool:
    tokens: list[str | None] = []
    i = 0
    while i < len(pattern):
        if pattern[i] == "\\":
            tokens.append(pattern[i + 1])
            i += 2
        else:
            tokens.append(None if pattern[i] == "*" else pattern[i])
            i += 1
    # can[j][k]: the first j tokens match the first k characters
    can = [[False] * (len(text) + 1) for _ in range(len(tokens) + 1)]
    can[0][0] = True
    for j, tok in enumerate(tokens, 1):
        for k in range(len(text) + 1):
            if tok is None:
                can[j][k] = can[j - 1][k] or (k > 0 and can[j][k - 1])
            else:
                can[j][k] = k > 0 and can[j - 1][k - 1] and text[k - 1] == tok
    return can[len(tokens)][len(text)]


patterns = st.lists(st.sampled_from(["a", "b", "*", "\\*", "\\\\", "ab", "ba"]), max_size=7).map("".join)
texts = st.text(alphabet="ab*\\", max_size=10)


@settings(max_examples=600, deadline=None)
@given(patterns, texts)
def test_wildcard_agrees_with_oracle(pattern, text):
    try:
        parts = parse_wildcard(pattern)
    except PatternError:
        assert "**" in pattern.replace("\\\\", "").replace("\\*", "")
        return
    assert wildcard_match(parts, text) == oracle(pattern, text), (pattern, text)
