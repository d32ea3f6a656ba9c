"""Reports: a period's figures (figures.py) for the overview pages, the API and the digest."""
