"""`python -m checkpoint ...`: the same command as the `checkpoint` script (fault tests start workers so)."""

from checkpoint.cli import app

app(prog_name="checkpoint")
