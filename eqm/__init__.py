"""The `eqm` command line: a thin layer over analytics (and dashboards for `serve`)."""
