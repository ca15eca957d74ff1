"""Watchlist (布控): watched plate patterns, the Redis-backed matcher, hit alerts for dispatchers.

models.py WatchEntry / HitAlert / WatchHit / DispatcherScope; plates.py patterns and their index keys;
index.py the Redis index; service.py the four-eyes watch lifecycle; worker.py the matcher (consumer
group "watchlist" on `checkpoint:passes`); alerts.py alert recording, lifecycle and scopes; api.py and
alerts_api.py routes (SSE at /api/v1/watchlist/alerts/stream); demo.py the demo watch.
Run a matcher with `checkpoint watchlist matcher`, or in-process with worker.start_matcher_thread.
"""
