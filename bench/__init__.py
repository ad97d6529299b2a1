"""The load benchmark: `python -m bench` (or `make bench`).

It builds a database of its own, starts the service and a ceiling app (bare
FastAPI serving the same page from memory) with one worker each, drives load
at both from a separate process on loopback, alternating them, and reports
each scenario's throughput and latency as a ratio to the ceiling.
"""
