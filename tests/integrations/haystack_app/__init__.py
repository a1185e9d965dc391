"""A Django app for the haystack backend tests: two models and their SearchIndexes."""
