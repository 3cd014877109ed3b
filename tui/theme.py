"""The console's themes: Textual's dark default and a high-contrast one for projectors."""

from __future__ import annotations

from textual.theme import Theme

DEFAULT_THEME = "textual-dark"
"""The theme the console starts with."""

HIGH_CONTRAST = Theme(
    name="wharf-high-contrast",
    primary="#FFFF00",
    secondary="#00FFFF",
    accent="#FF00FF",
    foreground="#FFFFFF",
    background="#000000",
    surface="#000000",
    panel="#202020",
    boost="#303030",
    success="#00FF00",
    warning="#FFFF00",
    error="#FF4040",
    dark=True,
    variables={
        "block-cursor-foreground": "#000000",
        "block-cursor-background": "#FFFF00",
        "block-cursor-text-style": "bold",
        "footer-key-foreground": "#FFFF00",
        "input-selection-background": "#FFFF00 50%",
        "border": "#FFFFFF",
    },
)
"""White on black, yellow cursor and keys: readable on a washed-out projector."""
