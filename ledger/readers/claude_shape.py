"""The common Claude Code line, as msgspec decodes it: only the fields the reader needs,
typed as narrowly as the common case, everything else skipped in C.

Every line of a batch is decoded at once. A line that does not fit (another type
anywhere, a negative, null or non-integer count, a number orjson would turn into a float,
nesting too deep) fails to decode; the reader then reads that batch line by line and such
a line the general way (orjson and dict lookups), which is the reference: this
shape only decides how fast a line is read, never what it says. One known difference: a
number too large for a double in a field burn does not read (e.g. `1e999` in a tool's
output) is skipped here and rejected by orjson, so such a line counts instead of being
malformed JSON (it is valid JSON).

(Its own module: importing msgspec is left to an ingest that has lines to read.)
"""

from __future__ import annotations

from typing import Annotated

import msgspec

# orjson makes integers past 2**64 - 1 floats (a bad count); bigger bounds than int64's
# are not supported here, so a count past 2**63 - 1 is read the general way. A null count
# (0 to the general way) is too: the common line has none, and 0 here saves a test per count.
Count = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]


# (gc=False: these never form cycles, and a batch makes thousands)
class CacheSplit(msgspec.Struct, gc=False):
    ephemeral_5m_input_tokens: Count = 0
    ephemeral_1h_input_tokens: Count = 0


class Usage(msgspec.Struct, gc=False):
    input_tokens: Count = 0
    output_tokens: Count = 0
    cache_read_input_tokens: Count = 0
    cache_creation_input_tokens: Count = 0
    cache_creation: CacheSplit | None = None


class TaskInput(msgspec.Struct, gc=False):
    """A tool call's input; a Task call's names the agent it starts and its prompt."""

    subagent_type: str | None = None
    prompt: str | None = None


class Block(msgspec.Struct, gc=False):
    type: str | None = None
    name: str | None = None  # of a tool_use block
    input: TaskInput | None = None  # of a tool_use block


class Message(msgspec.Struct, gc=False):
    id: str | None = None
    model: str | None = None
    usage: Usage | None = None
    content: list[Block] | str | None = None  # (a user's message: often a string)


class Line(msgspec.Struct, gc=False):
    type: str | None = None
    message: Message | None = None
    sessionId: str | None = None
    timestamp: str | None = None
    cwd: str | None = None


decode = msgspec.json.Decoder(Line).decode
# what a line that does not fit raises (ValidationError is a DecodeError; invalid UTF-8 in
# a string it keeps is a UnicodeDecodeError)
NOT_THIS_SHAPE = (msgspec.DecodeError, RecursionError, ValueError)
