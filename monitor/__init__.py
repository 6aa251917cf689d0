"""newswatch: watch Vietnamese news sites for Vietnam–US foreign-relations articles."""

__version__ = "0.1.0"
