"""Azure Functions entry points (Python v2 model): one function app per directory, each
packaged with its ``function_app.py`` and ``host.json`` at the root (mk/azure-deploy.mk)."""
