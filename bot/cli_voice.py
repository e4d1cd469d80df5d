"""`grievance voice-prompts`: how the voice line speaks each language, and the prompts to record
(`--make-speech`: made with espeak-ng, at install, for the languages Twilio does not speak).

For a deployment that records its own prompts (`channels.voice.prompts_dir`): one line per
language (recorded, Twilio's text-to-speech, or not offered), then, with `--language`, each prompt
to record in that language: its file name, whether it is there, and the text to read.
"""

from __future__ import annotations

import click

from .cli_context import command_settings


@click.command("voice-prompts")
@click.option("--language", "language", default=None, help="List the prompts to record in this language.")
@click.option("--make-speech", is_flag=True, help="Make the missing prompts with espeak-ng (ne, my), at install.")
@click.pass_context
def voice_prompts(ctx: click.Context, language: str | None, make_speech: bool) -> None:
    """How the voice line speaks each language; with --language, the prompts to record for it."""
    from channels.voice.espeak import SpeechNotMade, languages_for_espeak, make_prompts  # the channel's code only here
    from channels.voice.speech import Speaker, recordable_keys

    from .config import ConfigError
    from .i18n import Catalogs

    settings = command_settings(ctx)
    deployment = settings.deployment
    catalogs = Catalogs(deployment.languages)
    prompts = settings.channels.voice.prompts_dir
    if make_speech:
        if not prompts:
            raise ConfigError("config error: channels.voice.prompts_dir: needed for --make-speech (where the files go)")
        for spoken in languages_for_espeak(deployment.languages):
            try:
                made = make_prompts(catalogs, spoken, settings.path(prompts))
            except SpeechNotMade as error:
                raise click.ClickException(str(error)) from None
            click.echo(f"voice line: {spoken}: {len(made)} prompts made with espeak-ng")
    speaker = Speaker(catalogs, deployment.languages, deployment.default_language,
                      settings.path(prompts) if prompts else None, settings.server.public_url or "", "/webhooks/voice/prompts")
    for line in speaker.report():
        click.echo(line)
    if language is None:
        return
    if language not in deployment.languages:
        raise click.BadParameter(f"'{language}' is not in deployment.languages", param_hint="--language")
    click.echo(f"\nPrompts to record for {language} (<prompts_dir>/{language}/<key>.mp3 or .wav):")
    for key in recordable_keys(catalogs):
        there = "recorded" if speaker.prompt_file(language, key) else "missing "
        click.echo(f"  {there}  {key}.mp3  {catalogs.text(language, key)}")


COMMANDS = (voice_prompts,)
