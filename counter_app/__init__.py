"""counter_app: the terminal application of the 异地就医 service window (医保经办窗口)."""

__version__ = "0.1.0"
