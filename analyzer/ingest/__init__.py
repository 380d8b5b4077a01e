"""Ingest: turning an input (capture or HAR) into a stream of HttpMessage records."""
