"""Building note text line by line while recording where each PHI value landed.

Templates are `str.format` strings; a field whose value is a `Phi` is recorded as a gold span
at the exact offsets it occupies, so gold spans match the text by construction.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field

from cds.schemas import PhiSpan, PhiType


@dataclass(frozen=True)
class Phi:
    value: str
    type: PhiType


@dataclass
class TextBuilder:
    lines: list[str] = field(default_factory=list)
    spans: list[PhiSpan] = field(default_factory=list)
    _offset: int = 0  # offset of the start of the next line

    def line(self, template: str = "", **fields: str | Phi) -> int:
        """Append one line rendered from `template`; return its 1-based line number."""
        parts: list[str] = []
        cursor = self._offset
        for literal, name, spec, conversion in string.Formatter().parse(template):
            parts.append(literal)
            cursor += len(literal)
            if name is None:
                continue
            value = fields[name]
            text = value.value if isinstance(value, Phi) else str(value)
            if spec or conversion:
                raise ValueError("format specs are not supported in note templates")
            if "\n" in text:
                raise ValueError("a field value may not contain a newline")
            if isinstance(value, Phi) and text:
                self.spans.append(PhiSpan(start=cursor, end=cursor + len(text), type=value.type))
            parts.append(text)
            cursor += len(text)
        rendered = "".join(parts)
        if "\n" in rendered:
            raise ValueError("a template may not contain a newline; call line() per line")
        self.lines.append(rendered)
        self._offset = cursor + 1  # the newline that joins this line to the next
        return len(self.lines)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)
