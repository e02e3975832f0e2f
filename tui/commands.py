"""The command palette's source: the app's commands, found by their title or their description.

Textual's own provider matches titles only, so `lora`, `export` or `diffusers` found
nothing though commands are about exactly that; here a word of the description counts
too (a title match ranks higher).
"""

from __future__ import annotations

from textual.command import Hit, Hits
from textual.system_commands import SystemCommandsProvider


class DescribedCommandsProvider(SystemCommandsProvider):
    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback, *_ in self.app.get_system_commands(self.screen):
            by_name = matcher.match(name)
            by_help = matcher.match(help_text) * 0.5 if query.strip().lower() in help_text.lower() else 0
            score = max(by_name, by_help)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
