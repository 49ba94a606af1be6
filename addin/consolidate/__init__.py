"""Consolidation of returned workbooks: read each file safely (`read`), check it, and summarise the run."""
