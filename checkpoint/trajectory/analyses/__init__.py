"""The investigators' analyses, each a set-based query over the pass table."""
