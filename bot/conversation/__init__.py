"""The intake conversation as steps: one worker message in, the next state and the replies out.

Import from the modules (`bot.conversation.turns.Conversation`, `bot.conversation.contract.Turn`...):
the package itself re-exports nothing, so its modules can import each other by the package.

- `turns.Conversation`: the entry point (pauses, the quiet end of an answer-back, buttons).
- `message.Message`: a worker's message, normalised once where it enters.
- `rules`: what applies at every step, in a written order (too long, first contact, empty,
  commands, the way back from a wrong language, unknown commands, the erase question, danger first).
- `steps/`: one module per step behind one contract (`contract.Step`: prompt, choices, take,
  keep, asks_yes_no), and the table from a draft's step to its handler.
- `flow`: the route of a report and the order of the configured questions;
  `description`: the worker's own words (kept aside, then the description);
  `wording`: texts, command words and the language menu; `commands`, `erase`, `first_contact`.
"""
