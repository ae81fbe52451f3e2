"""The Textual user interface of the counter (screens, widgets, styles)."""
