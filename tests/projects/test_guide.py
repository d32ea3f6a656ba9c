"""The examples' quoting: values land in JS strings and shell words intact, whatever they hold."""

from __future__ import annotations

import json
import subprocess

import pytest

from orderreport.projects.guide import js_str, sh_quote

NASTY = [
    "plain",
    "it's",
    'say "hi"',
    "back\\slash\\",
    "\\'",
    "line\nbreak\r\ttab",
    "$(touch /tmp/pwned) `id` ${HOME}",
    "</script><script>alert(1)</script>",
    "кириллица \u2028 \u2029 ✓",
]


@pytest.mark.parametrize("value", NASTY)
def test_it_quotes_javascript_strings(value: str) -> None:
    literal = js_str(value)
    assert literal.startswith("'") and literal.endswith("'")
    result = subprocess.run(
        ["node", "-e", f"process.stdout.write(JSON.stringify({literal}))"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert json.loads(result.stdout) == value, result.stderr


@pytest.mark.parametrize("value", NASTY)
def test_it_quotes_shell_words(value: str) -> None:
    result = subprocess.run(
        ["bash", "-c", f"printf %s {sh_quote(value)}"], capture_output=True, timeout=30
    )
    # Bytes, not text=True: universal newlines would turn the \r into \n.
    assert result.stdout.decode() == value
