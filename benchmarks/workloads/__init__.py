"""Workload scripts run as child processes (``python workloads/<name>.py``); they import nothing from this repo."""
