"""The operator's side of the hotline: what runs on the mechanism's own machine, with the private key.

The intake server (bot/, channels/, nlu/, storage/) never imports this package; the one
`grievance` command names its commands in one place (bot/cli.py) and loads them only when
one is called. Today it holds the pattern reports (`desk.reports`).
"""
