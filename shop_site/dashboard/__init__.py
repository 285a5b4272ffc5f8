"""The support chat inbox inside Oscar's dashboard (the Django admin has the same inbox)."""
