"""Data sources behind one interface (``base.Provider``), named once in ``registry``."""
