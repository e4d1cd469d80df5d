"""The worker's own words: kept aside before consent, then the description, and what is read from it.

Several steps take words that answer nothing they asked (a story at the language menu,
more detail at the category question, danger words at any step); they all go through
here, so "nothing lost" holds in one place: before consent the words wait in
`draft.kept` (encrypted with the draft), and after it they are the description, read
for a category, danger and the entities the questions will offer to confirm.
"""

from __future__ import annotations

from nlu import match_word

from bot import text_work
from bot.draft import ANSWER_STEPS, STEP_CONSENT, STEP_DESCRIPTION, STEP_SUGGEST, Draft

from .context import Context
from .contract import Turn
from .message import Message


def before_consent(draft: Draft, step: str | None) -> bool:
    """Text the worker writes now is kept aside (`draft.kept`), not (yet) the description: before
    consent (consenting puts STEP_CONSENT on the history; BACK to it takes it off), or in answer mode."""
    return step in ANSWER_STEPS or STEP_CONSENT not in draft.history


def keep(ctx: Context, draft: Draft, text: str, step: str | None = "") -> Turn | None:
    """Keep what the worker wrote: aside before consent, else in the description. A refusal, if too long."""
    step = draft.step if step == "" else step
    if not before_consent(draft, step):
        return add(ctx, draft, text)
    limit = ctx.settings.limits.max_description_chars
    if sum(len(part) + 1 for part in draft.kept) + len(text) > limit:
        lang = draft.language or draft.danger_language or draft.menu_first
        return ctx.ask(draft, ctx.t(lang, "error.description_full", max=limit), events=("description_full",))
    draft.kept.append(text)
    return None


def keep_and_ask_again(ctx: Context, draft: Draft, text: str) -> Turn:
    refused = keep(ctx, draft, text)
    lang = draft.language or draft.menu_first
    return refused or ctx.ask(draft, ctx.t(lang, "kept.note"), events=("kept",))


def keep_words(ctx: Context, draft: Draft, message: Message) -> list[str]:
    """At a step that asks for an answer, words that answer nothing (danger words) are kept,
    aside or in the description; the notes to send before the next question."""
    refused = keep(ctx, draft, message.text)
    if draft.step == STEP_SUGGEST and not draft.suggestion:
        draft.step = ctx.flow.category_step
    return refused.replies[:-1] if refused else []


def add(ctx: Context, draft: Draft, text: str) -> Turn | None:
    """Add `text` to the description and read it again; a refusal when the description is full."""
    limit = ctx.settings.limits.max_description_chars
    if len(draft.description_text) + len(text) > limit:
        return ctx.ask(draft, ctx.t(draft.language, "error.description_full", max=limit), events=("description_full",))
    if not draft.description:  # a new description, or one replaced from the summary: nothing found yet
        draft.offers = {}
    draft.description.append(text)
    # Category and urgency read the whole description (linear time, and usually read already,
    # before the write gate: bot/text_work.py); entities come from the new message only and
    # are added to those found in the earlier ones.
    understanding = text_work.understanding(ctx.understander, draft.description_text, draft.language)
    enough = understanding.confidence >= ctx.settings.nlu.suggestion_min_confidence
    draft.suggestion = understanding.category if enough and understanding.category in ctx.settings.flow.categories else None
    draft.suggestion_confidence = understanding.confidence
    draft.suggestion_backend = understanding.backend  # a fallback's name, recorded in the case
    draft.urgent_signal = understanding.urgent
    draft.offers = _offers(ctx, text_work.entities(text), draft.offers)
    return None


def _offers(ctx: Context, entities, known: dict[str, object] | None = None) -> dict[str, object]:
    """What the description says for the configured questions, to be confirmed: `known` (from
    its earlier messages) with what `entities` (of a new message) add."""
    offers: dict[str, object] = dict(known or {})
    for question in ctx.flow.questions:
        found = [entity.value for entity in entities if entity.type == question.entity]
        if not found:
            continue
        # A count is the first number named; a name, the fullest one ("Sunrise Garments Ltd"),
        # the earlier on a tie.
        if question.entity == "people":
            offers.setdefault(question.id, found[0])
        else:
            earlier = [offers[question.id]] if question.id in offers else []
            offers[question.id] = max([*earlier, *found], key=lambda v: len(str(v)))
    return offers


def give_consent(ctx: Context, draft: Draft) -> None:
    """Consent given: on to the description, which starts with whatever was kept before."""
    ctx.flow.advance(draft, STEP_DESCRIPTION)
    kept, draft.kept = draft.kept, []
    for part in kept:
        add(ctx, draft, part)


def after_description(ctx: Context, draft: Draft, thanks: bool = False) -> Turn:
    """The next question is asked at once; until it is answered, more text is added to the
    description ("several messages allowed, until the worker answers the next question")."""
    draft.description_open = True
    ctx.flow.advance(draft, STEP_SUGGEST if draft.suggestion else ctx.flow.category_step)
    replies = [ctx.t(draft.language, "description.thanks")] if thanks else []
    return ctx.ask(draft, *replies, events=("description",))


def more_description(ctx: Context, draft: Draft, message: Message) -> Turn | None:
    """While the description is open, text that is no answer is more description."""
    if not draft.description_open or not message.has_words or match_word(message.text, "done", draft.language):
        return None
    if message.small_talk:  # "ok thanks" is no part of the report
        return None
    return _added(ctx, draft, message.text)


def join_description(ctx: Context, draft: Draft, message: Message) -> Turn | None:
    """At a question answered by yes or no or a menu number (also after BACK, when the
    description is closed), text that answers nothing but tells more of what happened joins
    the description with a short note, and the question is asked again. None for small talk,
    "I don't know" or a stray word: the step then asks for its answer as usual."""
    if before_consent(draft, draft.step) or message.small_talk or message.dont_know:
        return None
    if match_word(message.text, "done", draft.language) or not message.says_something(draft.language):
        return None
    return _added(ctx, draft, message.text)


def _added(ctx: Context, draft: Draft, text: str) -> Turn:
    refused = add(ctx, draft, text)
    if refused:
        return refused
    if draft.step == STEP_SUGGEST and not draft.suggestion:
        draft.step = ctx.flow.category_step
    return ctx.ask(draft, ctx.t(draft.language, "description.added"), events=("description",))


def more_hint(ctx: Context, draft: Draft) -> str:
    """"Or write more about what happened", while the description is still open."""
    return "\n" + ctx.t(draft.language, "hint.write_more") if draft.description_open else ""
