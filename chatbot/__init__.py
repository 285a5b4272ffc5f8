"""An AI support chat for Django storefronts."""

__version__ = "0.1.0"
