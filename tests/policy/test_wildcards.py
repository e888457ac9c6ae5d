"""The `*`/`?` matcher against an independent oracle (fnmatch over an alphabet without
`[`, `]`), plus the segment rules of ArnLike and the Resource element."""

from __future__ import annotations

import fnmatch

from hypothesis import given, settings
from hypothesis import strategies as st

from mamori.policy.variables import parse_template
from mamori.policy.wildcards import ArnGlob, Glob, ResourceGlob

ALPHABET = "ab:/.*?"
patterns = st.text(alphabet=ALPHABET, max_size=10)
values = st.text(alphabet="ab:/.", max_size=12)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(patterns, values)
def test_glob_agrees_with_fnmatch(pattern, value):
    assert Glob.parse(pattern).match(value) == fnmatch.fnmatchcase(value, pattern)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(patterns, values)
def test_glob_ignore_case(pattern, value):
    assert Glob.parse(pattern.upper(), ignore_case=True).match(value) == fnmatch.fnmatchcase(value.lower(), pattern.lower())


def test_regex_metacharacters_are_literal():
    assert not Glob.parse("a.b").match("axb")
    assert Glob.parse("a(b)+").match("a(b)+")
    assert not Glob.parse("a(b)+").match("abb")


def test_escaped_wildcards_stay_literal():
    tokens = parse_template("b/${*}/x${?}").tokens
    g = Glob(tokens)
    assert g.match("b/*/x?")
    assert not g.match("b/any/xy")


def test_arnlike_segments():
    g = ArnGlob.parse("arn:aws:someservice:*:111122223333:finance/*")
    assert not g.match("arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt")
    assert g.match("arn:aws:someservice:us-east-2:111122223333:finance/a:b")
    assert not ArnGlob.parse("arn:aws:*").match("arn:aws:s3:::b")  # fewer than six parts


def test_resource_glob():
    assert ResourceGlob.parse("arn:aws:logs:us-east-1:1:*").match("arn:aws:logs:us-east-1:1:log-group:a:log-stream:b")
    assert ResourceGlob.parse("arn:aws:s3:::bucket/*/test/*").match("arn:aws:s3:::bucket//test/x")
    assert not ResourceGlob.parse("arn:aws:s3:::bucket/*/test/*").match("arn:aws:s3:::bucket/test/x")
    assert not ResourceGlob.parse("arn:aws:iam::1:user/Bob").match("arn:aws:iam::1:user/bob")
    assert not ResourceGlob.parse("arn:aws:iam::1:user/*").match("*")
    assert ResourceGlob.parse("*").match("*")
