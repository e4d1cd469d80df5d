"""What a case worker reads when the hotline server (the operator API) could not do something.

The desk reaches the intake server through the operator API (desk/operator_client.py) to send a
reply, push a status, tell the worker of a referral or acknowledge a page. Its failures are typed:
`ConfigError` when the desk has no token to show (operator_client.token names a variable or file
that is not there), `OperatorApiError` with the HTTP status (0: no answer). Each becomes one sentence
in the reader's language that says what they can do, never a config key or an HTTP library's words;
the detail goes to the desk's log for the administrator (the key's name, the status: never a token
or a message text, which the operator client's errors never hold).
"""

from __future__ import annotations

import logging

from flask_babel import lazy_gettext as _l

from bot.config import ConfigError
from desk.operator_client import OperatorApiError

log = logging.getLogger(__name__)

NOT_SET_UP = _l("Replies are not set up on this desk: ask your administrator to connect the desk to the hotline "
                "(see Running the desk).")
UNREACHABLE = _l("The hotline server could not be reached: try again in a few minutes; if it keeps failing, "
                 "tell your administrator.")
KEY_REFUSED = _l("The hotline server did not accept this desk's key: ask your administrator to give the desk a new "
                 "token (see Running the desk).")
CASE_GONE = _l("The hotline server no longer holds this case (it may have been erased at the worker's request).")
REFUSED = _l("The hotline server refused it: check what you wrote and try again; if it keeps failing, tell your "
             "administrator.")
SERVER_FAILED = _l("The hotline server had a problem: try again in a few minutes; if it keeps failing, tell your "
                   "administrator.")
DESK_FAILED = _l("Something went wrong on this desk: try again; if it keeps failing, tell your administrator "
                 "(the desk's log says what).")


def operator_problem(error: BaseException | None, doing: str = "operator API call") -> str:
    """The sentence for a case worker about `error` (None: this desk has no hotline server configured).

    `doing` names the action for the log line only ("reply", "status push"...).
    """
    if error is None:
        log.warning("%s: no operator API configured (operator_client.url)", doing)
        return str(NOT_SET_UP)
    if isinstance(error, ConfigError):
        log.warning("%s: %s", doing, error)  # names the missing variable or file: no secret in it
        return str(NOT_SET_UP)
    if isinstance(error, OperatorApiError):
        log.warning("%s: %s", doing, error)  # a kind of failure and an HTTP status, never the token
        if error.status == 0:
            return str(UNREACHABLE)
        if error.status in (401, 403):
            return str(KEY_REFUSED)
        if error.status in (404, 410):
            return str(CASE_GONE)
        return str(REFUSED if 400 <= error.status < 500 else SERVER_FAILED)
    log.warning("%s failed: %s", doing, type(error).__name__)  # an unexpected error's words might hold anything
    return str(DESK_FAILED)


# The desk's own refusals (DeskError, from desk/store.py, desk/referral_store.py, desk/referral_flow.py) keep
# plain English for the command line; the pages show them through this table, in the reader's language.
# tests/test_desk_language.py checks that every literal refusal of those modules is here.
DESK_REFUSALS = {
    "a company needs a name": _l("A company needs a name."),
    "a company webhook is an https:// URL": _l("A company's webhook is an https:// address."),
    "a company webhook needs its secret: env:VARIABLE or file:PATH (never the secret itself)":
        _l("A company's webhook needs where its secret is: env:VARIABLE or file:PATH (never the secret itself)."),
    "a note needs some text": _l("A note needs some text."),
    "a password can have at most 256 characters": _l("A password can have at most 256 characters."),
    "a password needs at least 12 characters": _l("A password needs at least 12 characters."),
    "a username is 1 to 64 letters, digits, '.', '-' or '_'": _l("A username is 1 to 64 letters, digits, '.', '-' or '_'."),
    "a webhook secret without a webhook URL": _l("A webhook secret was given without a webhook address."),
    "cases can be assigned to active admins and caseworkers only":
        _l("Cases can be assigned to active admins and case workers only."),
    "no such company in the directory": _l("No such company in the directory."),
    "no such referral": _l("No such referral."),
    "no such user": _l("No such account."),
    "not an age public key (age1...)": _l("That is not an age public key (age1...)."),
    "not an e-mail address": _l("That is not an e-mail address."),
    "that company is in the directory already": _l("That company is in the directory already."),
    "that username is taken": _l("That username is taken."),
    "the answer cannot be older than the referral": _l("The answer cannot be older than the referral."),
    "the day the answer was received cannot be in the future": _l("The day the answer was received cannot be in the future."),
    "the worker did not agree that the company may be told: no referral":
        _l("The worker did not agree that the company may be told: no referral."),
    "write what the company answered (or a summary of it)": _l("Write what the company answered (or a summary of it)."),
}
NOT_DONE = _l("This could not be done: look at the page again; if it keeps failing, tell your administrator.")


def refusal_text(error: Exception) -> str:
    """A DeskError's sentence in the reader's language (one not in the table: a general sentence, the detail logged)."""
    said = DESK_REFUSALS.get(str(error))
    if said is None:
        log.warning("a desk refusal without its translation: %s", type(error).__name__)
        return str(NOT_DONE)
    return str(said)


def status_refusal(current: str, new: str) -> str:
    """Why the case could not move from `current` to `new` (StatusChangeError), for the case page."""
    from desk.lifecycle import TransitionError, check_transition

    from .labels import status_label

    if new == current:
        return str(_l("The case is already %(status)s.", status=status_label(current)))
    if current == "closed":
        return str(_l("The case is closed, which is final: if it must be reopened, ask your administrator."))
    try:
        check_transition(current, new)
    except TransitionError:
        return str(_l("A case cannot move back from %(from_status)s to %(to_status)s.",
                      from_status=status_label(current), to_status=status_label(new)))
    return str(_l("Someone changed this case meanwhile: look at it again."))
