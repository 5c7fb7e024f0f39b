"""Everything Azure Functions needs and nothing else: event translation (``events``), the
usage transport (``usage``: Storage Queue), metrics as structured log lines (``metrics``)
and cold-start settings/logging (``runtime``). See docs/azure.md."""
