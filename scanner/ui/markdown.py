"""Text from outside (a URL parameter, a stored message, a server's reply) shown inside markdown.

Streamlit renders every st.warning/info/caption/markdown string as GitHub markdown: a ``?tickers=`` value of
``[Sign in again](http://…) ![](http://…/i.png)`` would show a working link and make the browser fetch the image.
CommonMark lets any ASCII punctuation be backslash-escaped, so escaping all of it leaves no syntax at all (links,
images, emphasis, Streamlit's ``:red[…]`` directives, ``$`` math, bare ``http://`` and ``www.`` autolinks), and
folding line breaks keeps the text from opening a block (a heading, a list, a table)."""

from __future__ import annotations

import re
import string

_PUNCTUATION = re.compile(f"([{re.escape(string.punctuation)}])")


def plain(text: object) -> str:
    """``text`` as markdown that renders exactly that text, on one line."""
    return _PUNCTUATION.sub(r"\\\1", " ".join(str(text).split()))
