"""``ptb serve``: a live dashboard over the results store for an experiment in progress."""

from posttrainbench.web.server import CSP, DashboardServer, dashboard_status, serve

__all__ = ["CSP", "DashboardServer", "dashboard_status", "serve"]
