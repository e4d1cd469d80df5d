"""What every step and rule of one conversation shares: settings, wording, flow, the understander,
and the table of steps (so a step can ask the question of the step the worker is at)."""

from __future__ import annotations

from dataclasses import dataclass, field

from nlu import Understander

from bot.config import Settings
from bot.draft import Draft

from .contract import Step, Turn
from .flow import Flow
from .wording import Wording


@dataclass
class Context:
    settings: Settings
    wording: Wording
    understander: Understander
    flow: Flow
    steps: dict[str, Step] = field(default_factory=dict)  # filled by steps.build_steps
    fallback: Step | None = None  # a step that is no longer configured (a question removed from config)

    def step_of(self, draft: Draft) -> Step:
        return self.steps.get(draft.step) or self.fallback

    def prompt(self, draft: Draft) -> str:
        """The question the worker is asked at their current step."""
        return self.step_of(draft).prompt(draft)

    def t(self, language: str | None, key: str, /, **values: object) -> str:
        return self.wording.t(language, key, **values)

    def ask(self, draft: Draft, *before: str, events: tuple[str, ...] = (), **turn) -> Turn:
        """A turn that sends `before`, then asks the question of the step the worker is at."""
        return Turn([*before, self.prompt(draft)], draft, events=list(events), **turn)

    def command_languages(self, draft: Draft | None) -> tuple[str, ...]:
        """Before a language is chosen every offered language counts; after, only the worker's
        own and English, so a word in one language never fires a command of another."""
        if draft is None or draft.language is None:
            return self.settings.deployment.languages
        return (draft.language,)
