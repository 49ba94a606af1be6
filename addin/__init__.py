"""The Excel-facing shell: xlwings UDF registration (`functions`), and the `jieyue` CLI (`cli`)."""
