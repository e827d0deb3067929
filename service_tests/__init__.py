"""Service tier: the app as a real uWSGI process over HTTP, real Redis, stubbed downstreams."""
