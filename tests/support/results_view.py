"""The results view draws a ticker's tables only once its expander is opened, and a view tab's content only
while that tab is picked (issue 21: a closed one's would be sent and laid out anyway). AppTests open them as
a click does, through the widgets' keys in the session state."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def opened(at: AppTest, *, scope: str = "main", tab: str | None = None) -> AppTest:
    """``at`` rerun with every ticker's expander it shows opened and, when given, the view tab ``tab`` picked
    ("All shown", "Charts"; ``scope`` is the page's: "main" or "history")."""
    for expander in at.expander:
        if " — " in expander.label:
            at.session_state[f"{scope}-expander-{expander.label.split(' — ')[0]}"] = True
    if tab is not None:
        at.session_state[f"{scope}-tab"] = tab
    return at.run()
