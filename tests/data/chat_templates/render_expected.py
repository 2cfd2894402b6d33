#!/usr/bin/env python3
"""Renders every template in this folder over a fixed set of conversations with python3-jinja2,
configured as transformers' apply_chat_template configures it, and writes expected.json: the
oracle tests/chat_template_test.cpp compares trident's interpreter against, byte for byte.

transformers (utils/chat_template_utils.py) compiles a template with
ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[AssistantTracker,
loopcontrols]), replaces the tojson filter with json.dumps(ensure_ascii=False, ...), adds the
globals raise_exception and strftime_now, and renders with messages, tools (None when absent),
documents (None), add_generation_prompt, the special tokens and any extra keyword arguments.
The {% generation %} tag of AssistantTracker renders its body unchanged; it is reproduced here
as a tiny extension. strftime_now uses a fixed clock (2026-01-15 10:30:00) so outputs are stable.

Run: python3 tests/data/chat_templates/render_expected.py   (needs python3-jinja2 only)
"""
import datetime
import json
import os
import sys

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))
FIXED_NOW = datetime.datetime(2026, 1, 15, 10, 30, 0)


class GenerationTag(Extension):
    """transformers' AssistantTracker without the mask bookkeeping: {% generation %} is a no-op."""
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.Scope(body, lineno=lineno)


def compile_template(text):
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return FIXED_NOW.strftime(format)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[GenerationTag, loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env.from_string(text)


# Special tokens per template family (what each model's tokenizer_config.json declares).
TOKENS = {
    "meta-llama": ("<|begin_of_text|>", "<|eot_id|>"),
    "Qwen": ("", "<|im_end|>"),
    "google": ("<bos>", "<eos>"),
    "microsoft-Phi-3.5": ("<s>", "<|endoftext|>"),
    "microsoft-phi-4": ("<|endoftext|>", "<|im_end|>"),
    "mistralai": ("<s>", "</s>"),
    "deepseek": ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
    "openai": ("<|startoftext|>", "<|return|>"),
    "zai-org": ("", "<|endoftext|>"),
    "ibm-granite": ("<|end_of_text|>", "<|end_of_text|>"),
    "HuggingFaceTB": ("", "<|im_end|>"),
}

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name, e.g. Zürich"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city"],
        },
    },
}

SYSTEM = {"role": "system", "content": "You are a helpful assistant."}
USER = {"role": "user", "content": "Hello! What's 2+2?"}
ASSISTANT = {"role": "assistant", "content": "2+2 is 4."}
USER2 = {"role": "user", "content": "  And \"3+3\", in français?  \n"}
TOOL_CALL = {
    "role": "assistant",
    "content": "",
    "tool_calls": [{"id": "call12345", "type": "function",
                    "function": {"name": "get_weather", "arguments": {"city": "Zürich", "unit": "celsius"}}}],
}
TOOL_CALL_NO_CONTENT = dict(TOOL_CALL, content=None)
TOOL_RESULT = {"role": "tool", "tool_call_id": "call12345", "name": "get_weather", "content": "{\"temperature\": 21.5, \"sky\": \"clear\"}"}
THINKING = {"role": "assistant", "content": "It is 4.", "reasoning_content": "The user asks 2+2. That is 4."}
THINK_TAGS = {"role": "assistant", "content": "<think>\nAdd the numbers.\n</think>\n\nIt is 4."}

CONVERSATIONS = [
    ("system_user", {"messages": [SYSTEM, USER], "add_generation_prompt": True}),
    ("user_no_generation_prompt", {"messages": [USER], "add_generation_prompt": False}),
    ("multi_turn", {"messages": [SYSTEM, USER, ASSISTANT, USER2], "add_generation_prompt": True}),
    ("multi_turn_no_system", {"messages": [USER, ASSISTANT, USER2, ASSISTANT], "add_generation_prompt": False}),
    ("tools", {"messages": [SYSTEM, {"role": "user", "content": "Weather in Zürich?"}, TOOL_CALL, TOOL_RESULT],
               "tools": [WEATHER_TOOL], "add_generation_prompt": True}),
    ("tools_null_content", {"messages": [{"role": "user", "content": "Weather in Zürich?"}, TOOL_CALL_NO_CONTENT,
                                         TOOL_RESULT, {"role": "assistant", "content": "It is 21.5 °C and clear."}],
                            "tools": [WEATHER_TOOL], "add_generation_prompt": False}),
    ("tools_offered_only", {"messages": [USER], "tools": [WEATHER_TOOL], "add_generation_prompt": True}),
    ("thinking", {"messages": [USER, THINKING, USER2], "add_generation_prompt": True,
                  "extra": {"enable_thinking": True, "reasoning_effort": "high"}}),
    ("think_tags_in_content", {"messages": [SYSTEM, USER, THINK_TAGS, USER2], "add_generation_prompt": True}),
    ("thinking_disabled", {"messages": [USER], "add_generation_prompt": True, "extra": {"enable_thinking": False}}),
    ("empty_messages", {"messages": [], "add_generation_prompt": True}),
]


def tokens_for(name):
    for prefix, tok in TOKENS.items():
        if name.startswith(prefix):
            return tok
    raise SystemExit(f"no special tokens known for {name}")


def main():
    cases = []
    names = sorted(f[:-len(".jinja")] for f in os.listdir(HERE) if f.endswith(".jinja"))
    for name in names:
        with open(os.path.join(HERE, name + ".jinja"), encoding="utf-8") as f:
            template = compile_template(f.read())
        bos, eos = tokens_for(name)
        for conv_name, conv in CONVERSATIONS:
            case = {
                "template": name,
                "conversation": conv_name,
                "messages": conv["messages"],
                "tools": conv.get("tools"),
                "add_generation_prompt": conv["add_generation_prompt"],
                "bos_token": bos,
                "eos_token": eos,
                "extra": conv.get("extra", {}),
            }
            kwargs = {"bos_token": bos, "eos_token": eos, **case["extra"]}
            try:
                case["expected"] = template.render(messages=json.loads(json.dumps(conv["messages"])),
                                                   tools=case["tools"], documents=None,
                                                   add_generation_prompt=case["add_generation_prompt"], **kwargs)
            except Exception as e:  # the template refuses this conversation: trident must refuse too
                case["error"] = f"{type(e).__name__}: {e}"
            cases.append(case)
    out = os.path.join(HERE, "expected.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=False, indent=1)
        f.write("\n")
    errors = sum("error" in c for c in cases)
    print(f"{out}: {len(cases)} cases ({len(names)} templates x {len(CONVERSATIONS)} conversations), "
          f"{errors} expected errors", file=sys.stderr)


if __name__ == "__main__":
    main()
