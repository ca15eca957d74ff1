"""Watchlist (布控): watched plate patterns, the Redis-backed matcher, hit alerts for dispatchers.

models.py WatchEntry / HitAlert / WatchHit / DispatcherScope / WebhookDelivery; plates.py patterns and
their index keys; change_log.py the versioned watch change log in PostgreSQL (the truth); index.py
the Redis index (a cache of it, stamped with its version); index_status.py where they stand;
local_index.py each matcher's in-memory copy, following the log; service.py the four-eyes watch
lifecycle; worker.py the matcher (consumer group "watchlist" on `checkpoint:passes` through
core.streams; raw_stream.py); alerts.py alert recording, lifecycle and scopes; alert_images.py the
images an alert keeps; webhook.py the outbox to the provincial platform; api.py and alerts_api.py
routes (SSE at /api/v1/watchlist/alerts/stream); demo.py the demo watch.
Run a matcher with `checkpoint watchlist matcher`, or in-process with worker.start_matcher_thread.
"""
