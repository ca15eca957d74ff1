"""Coverage: is every vehicle entering or leaving the city or a centre area captured at least twice?

model.py and analysis.py are the pure algorithm (graph in, report out); placement.py proposes new
checkpoints; build.py turns areas, roads and checkpoints into the model; service.py and api.py
serve it from the database (what-if, placement, export); verifier.py and worker.py check the rule
on the live pass stream; traffic.py generates traffic to validate one against the other.
"""
