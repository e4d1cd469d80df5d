"""The conversation: engine, intake service, Flask app factory and the `grievance` CLI.

Everything in `bot/` is channel-neutral: channel adapters hand it an
`InboundMessage` and send back the `Reply` it returns.
"""
