"""Options scanner engine: screening, providers, the Redis store and lock, the scan runner.

Nothing in this package imports streamlit except ``scanner.ui``.
"""

__version__ = "0.1.0"
