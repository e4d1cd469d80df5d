"""Storage: the database, the one crypto module, keys, the outbox and the embedded queue.

Nothing here keeps a worker's address or words in the clear: conversations are
found by blind index, drafts and reply addresses are encrypted under the server
data key, and confirmed cases are sealed to the operator before they are stored.
"""
