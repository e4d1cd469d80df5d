"""The operator's side of the hotline: what runs on the mechanism's own machine, with the private key.

The intake server (bot/, channels/, nlu/, storage/) never imports this package; the one
`grievance` command names its commands in one place (DESK_COMMANDS in bot/cli.py) and loads
them only when one is called (tests/test_desk_boundary.py). It holds the pull from the queue
(`pull`, `quarantine`), the encrypted operator store (`operator_store`) with the case lifecycle
(`lifecycle`), exports (`export`), the dialogue with the worker (`dialogue`, `operator_client`),
their commands (`cli_cases`, `cli_export`, `cli_dialogue`), the web console (`web`, `store`,
`cli`, `serve`) and the pattern reports (`reports`). Shared with the intake server, in storage/:
the crypto module, the keys and the queue readers; in bot/: the configuration and the case schema.
"""
