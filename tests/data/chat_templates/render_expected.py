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
TIME_TOOL = {"type": "function", "function": {"name": "get_time", "description": "Current time",
                                              "parameters": {"type": "object", "properties": {}}}}
PARALLEL_CALLS = {
    "role": "assistant",
    "content": "Checking both.",
    "tool_calls": [
        {"id": "call12345", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Bern\"}"}},
        {"id": "call67890", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Köln\"}"}},
    ],
}
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
    ("parallel_tool_calls_string_args", {
        "messages": [{"role": "user", "content": "Weather in Bern and Köln?"}, PARALLEL_CALLS,
                     dict(TOOL_RESULT, tool_call_id="call12345"), dict(TOOL_RESULT, tool_call_id="call67890"),
                     {"role": "assistant", "content": "Both are clear."}],
        "tools": [WEATHER_TOOL, TIME_TOOL], "add_generation_prompt": True}),
    ("content_parts", {"messages": [SYSTEM, {"role": "user", "content": [{"type": "text", "text": "Describe "},
                                                                         {"type": "text", "text": "this."}]}],
                       "add_generation_prompt": True}),
    ("builtin_tools_low_effort", {"messages": [SYSTEM, USER], "tools": [TIME_TOOL], "add_generation_prompt": True,
                                  "extra": {"builtin_tools": ["browser", "python"], "reasoning_effort": "low",
                                            "enable_thinking": False}}),
]


# Small templates that pin one behaviour each (operators, filters, whitespace control, loops,
# macros, Undefined) to jinja2's output; `vars` become template variables.
V = {"xs": [3, 1, 2], "d": {"b": 1, "a": [1, 2], "c": None}, "s": "  Hello, Wörld!  ", "n": 7, "f": 2.5,
     "users": [{"name": "ann", "age": 31, "admin": True}, {"name": "Bob", "age": 25, "admin": False},
               {"name": "cy", "age": 40}],
     "nested": {"a": {"b": {"c": "deep"}}}, "empty": [], "t": True, "none": None, "text": "line1\nline2\n\nline4"}
SNIPPETS = [
    # printing Python values
    "{{ 1 }} {{ 1.0 }} {{ 2.50 }} {{ 1e20 }} {{ 1e-5 }} {{ 0.1 + 0.2 }} {{ 10 / 4 }} {{ 10 / 5 }} {{ -0.0 }}",
    "{{ [1, 'a', none, true, 1.5] }} {{ {'k': 'v', 'n': [1]} }} {{ (1,) }} {{ (1, 'x') }} {{ none }} {{ true }}",
    "{{ \"it's\" }} {{ [\"it's\", 'say \"hi\"', 'both \\' \"'] }} {{ ['tab\\there', 'nl\\n'] }}",
    "{{ d }} {{ d.a }} {{ users[0] }} {{ xs }} {{ empty }} {{ 'é' }} {{ ['é'] }}",
    # arithmetic and operators
    "{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7.5 // 2 }} {{ -7.5 % 2 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 2.0 ** 3 }}",
    "{{ 1 + 2 * 3 - 4 }} {{ (1 + 2) * 3 }} {{ -n }} {{ - -n }} {{ +n }} {{ n * 'ab' }} {{ [0] * 3 }} {{ 'a' ~ 1 ~ none ~ 1.5 ~ undefined_thing }}",
    "{{ true + 1 }} {{ 1 == 1.0 }} {{ true == 1 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }}",
    "{{ 'b' in 'abc' }} {{ 2 in xs }} {{ 'a' in d }} {{ 'z' not in d }} {{ 5 not in xs }} {{ not 1 }} {{ not none }}",
    "{{ 1 and 'x' }} {{ 0 and 'x' }} {{ 0 or '' or 'z' }} {{ none or [] }} {{ 'yes' if t else 'no' }} {{ 'yes' if none else 'no' }} [{{ 'x' if false }}]",
    # strings: slicing, methods
    "{{ 'abcdef'[1:4] }} {{ 'abcdef'[::-1] }} {{ 'abcdef'[-2:] }} {{ 'abcdef'[:-2] }} {{ 'abcdef'[::2] }} {{ 'héllo'[1] }} {{ 'héllo'[-1] }} {{ 'héllo'|length }}",
    "{{ xs[1:] }} {{ xs[::-1] }} {{ xs[-1] }} {{ xs[5] }} {{ xs[-10:10] }} {{ xs[2:0:-1] }}",
    "[{{ s.strip() }}] [{{ s.lstrip() }}] [{{ s.rstrip() }}] [{{ 'xxhixx'.strip('x') }}] [{{ '<<a>>'.lstrip('<') }}] [{{ s.strip(' !H') }}]",
    "{{ 'a,b,,c'.split(',') }} {{ '  a  b c '.split() }} {{ 'a b c'.split(' ', 1) }} {{ 'a,b,c'.rsplit(',', 1) }} {{ 'a  b'.split(' ') }} {{ ''.split() }}",
    "{{ 'Hello'.startswith('He') }} {{ 'Hello'.endswith(('x', 'lo')) }} {{ 'aaa'.replace('a', 'b', 2) }} {{ 'abc'.replace('', '-') }}",
    "{{ 'hello world'.title() }} {{ 'hELLO'.capitalize() }} {{ 'MiXed'.upper() }} {{ 'MiXed'.lower() }} {{ 'they\\'re bob\\'s'.title() }}",
    "{{ 'hello'.find('l') }} {{ 'hello'.rfind('l') }} {{ 'hello'.find('z') }} {{ 'hello'.count('l') }} {{ '-'.join(['a', 'b']) }} {{ 'a\\nb\\r\\nc'.splitlines() }}",
    "{{ '%s and %s' % ('a', 1) }} {{ '%d%%' % 50 }} {{ '%5s|%-5s|' % ('ab', 'cd') }} {{ '%.2f' % 3.14159 }} {{ '%r' % 'x' }} {{ '%s' % none }}",
    "{{ '123'.isdigit() }} {{ 'abc'.isalpha() }} {{ 'ABC'.isupper() }} {{ ' '.isspace() }} {{ 'abc'.removeprefix('a') }}",
    # filters
    "{{ xs|length }} {{ d|length }} {{ s|length }} {{ xs|first }} {{ xs|last }} {{ xs|sort }} {{ xs|sort(reverse=true) }} {{ xs|reverse|list }} {{ 'abc'|reverse }}",
    "{{ xs|min }} {{ xs|max }} {{ xs|sum }} {{ users|sum(attribute='age') }} {{ ['B', 'a', 'C']|sort }} {{ ['B', 'a', 'C']|sort(case_sensitive=true) }} {{ ['b', 'A', 'a']|unique|list }}",
    "{{ users|map(attribute='name')|join(', ') }} {{ users|selectattr('admin')|map(attribute='name')|list }} {{ users|rejectattr('admin')|map(attribute='name')|list }}",
    "{{ users|selectattr('age', 'gt', 30)|map(attribute='name')|list }} {{ users|selectattr('name', 'equalto', 'Bob')|list|length }} {{ xs|select('odd')|list }} {{ xs|reject('odd')|list }}",
    "{{ users|map(attribute='admin', default='n/a')|list }} {{ ['a', 'b']|map('upper')|list }} {{ users|sort(attribute='age')|map(attribute='name')|list }} {{ users|join(',', attribute='name') }}",
    "{{ d|dictsort }} {{ d|items|list }} {{ d|list }} {{ d.keys()|list }} {{ d.values()|list }} {{ d.items()|list }} {{ {'b': 1, 'A': 2}|dictsort }}",
    "[{{ s|trim }}] [{{ s|upper }}] [{{ s|lower }}] [{{ s|title }}] [{{ 'x y'|capitalize }}] [{{ s|replace('l', 'L') }}] [{{ none|upper }}] [{{ nothing|trim }}]",
    "{{ nothing|default('dflt') }} {{ none|default('dflt') }} {{ ''|default('dflt', true) }} {{ 0|d('z', true) }} {{ n|default(3) }} {{ d.zz|default('missing') }}",
    "{{ '42'|int }} {{ '4.7'|int }} {{ 'x'|int }} {{ 'x'|int(-1) }} {{ 3.9|int }} {{ '2.5'|float }} {{ 3|float }} {{ -3|abs }} {{ 2.567|round(2) }} {{ 2.5|round }} {{ 2.567|round(1, 'floor') }}",
    "{{ 42|string }} {{ [1]|string }} {{ none|string }} {{ 'a<b>&\"'|safe }} {{ 'a<b>&\"\\''|e }} {{ xs|batch(2)|list }} {{ 'one two  three'|wordcount }}",
    "{{ text|indent }}|{{ text|indent(2, true) }}|{{ text|indent(2, blank=true) }}",
    "{{ 'abc'|center(9) }}|{{ ['x']|first }}|{{ empty|first }}|{{ users[0]|attr('name') }}|{{ '%s-%s'|format(1, 2) }}|{{ empty|last }}",
    # tojson (transformers' json.dumps)
    "{{ d|tojson }} {{ users[0]|tojson }} {{ 'é\\n\"\\\\<\\t\\u0001'|tojson }} {{ [1.0, 2.5, 1e20, -0.0, none, true]|tojson }} {{ (1, 2)|tojson }}",
    "{{ d|tojson(indent=2) }}|{{ users[:1]|tojson(indent=4) }}|{{ empty|tojson(indent=2) }}|{{ {}|tojson(indent=2) }}",
    "{{ d|tojson(sort_keys=true) }} {{ d|tojson(separators=(',', ':')) }} {{ 'é'|tojson(ensure_ascii=true) }} {{ '😀'|tojson(ensure_ascii=true) }}",
    # tests
    "{{ n is defined }} {{ nope is defined }} {{ nope is undefined }} {{ none is none }} {{ d.c is none }} {{ d.zz is defined }} {{ d['zz'] is defined }}",
    "{{ 'x' is string }} {{ 1 is number }} {{ 1.5 is number }} {{ true is number }} {{ 1 is integer }} {{ true is integer }} {{ 1.0 is float }} {{ true is boolean }} {{ 1 is boolean }}",
    "{{ d is mapping }} {{ xs is mapping }} {{ xs is iterable }} {{ 'x' is iterable }} {{ 1 is iterable }} {{ xs is sequence }} {{ d is sequence }} {{ nope is iterable }} {{ none is iterable }}",
    "{{ 3 is odd }} {{ 3 is even }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(2) }} {{ 1 is eq 1 }} {{ 'a' is in 'abc' }} {{ t is true }} {{ t is false }} {{ none is sameas none }} {{ 'abc' is lower }} {{ xs is not string }}",
    "{{ range(5)|list }} {{ range(1, 10, 3)|list }} {{ range(5, 0, -2)|list }} {{ range(0)|list }} {{ dict(a=1, b=2) }} {{ namespace(x=1).x }}",
    # whitespace control (trim_blocks + lstrip_blocks + markers)
    "a\n  {% if t %}\n  b\n  {% endif %}\n  c\n",
    "a  {%- if t -%}  b  {%- endif -%}  c",
    "a\n  {%+ if t %}b{% endif %}\n  {# comment #}\n  c {#- trimmed -#} d\n",
    "x {{- ' y ' -}} z\n\n{{ 'w' }}\n",
    "{% for i in xs %}\n  - {{ i }}\n{% endfor %}\nend",
    "  {% if t %}a{% endif +%}\nb\n",
    "{% raw %}{{ not evaluated }} {% if %}{% endraw %}|{%- raw -%}  x  {%- endraw -%}|",
    "line\r\nwindows\r\n{% if t %}\r\nyes\r\n{% endif %}\r\n",
    # loops
    "{% for x in xs %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.revindex0 }}/{{ loop.first }}/{{ loop.last }}/{{ loop.length }};{% endfor %}",
    "{% for x in xs %}[{{ loop.previtem }}|{{ loop.nextitem }}|{{ loop.cycle('a', 'b') }}]{% endfor %}",
    "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %} {% for k in d %}{{ k }}{% endfor %} {% for c in 'hé' %}[{{ c }}]{% endfor %}",
    "{% for x in xs if x > 1 %}{{ x }}:{{ loop.index }}/{{ loop.length }} {% endfor %}",
    "{% for x in empty %}{{ x }}{% else %}empty!{% endfor %} {% for x in nope %}{{ x }}{% else %}undefined is empty{% endfor %}",
    "{% for x in xs %}{% if x == 1 %}{% continue %}{% endif %}{% if x == 2 %}{% break %}{% endif %}{{ x }}{% endfor %}",
    "{% for a in [1, 2] %}{% for b in 'xy' %}{{ loop.index }}{{ b }}{% endfor %}{{ loop.index }};{% endfor %}",
    "{% set x = 'outer' %}{% for i in xs %}{% set x = i %}{{ x }}{% endfor %} {{ x }}",
    "{% for u in users %}{{ u.name }}{{ ', ' if not loop.last }}{% endfor %}",
    # set, namespace, macros
    "{% set a, b = 1, 2 %}{{ a }}{{ b }} {% set c = [1, 2] %}{% set p, q = c %}{{ p + q }}",
    "{% set ns = namespace(total=0, items=[]) %}{% for x in xs %}{% set ns.total = ns.total + x %}{% endfor %}{{ ns.total }} {% set ns.items = ns.items + [1] %}{{ ns.items }}",
    "{% set block %}  inner {{ n }}  {% endset %}[{{ block }}] {% set up | upper %}shout{% endset %}{{ up }}",
    "{% macro greet(name, greeting='Hello', punct='!') %}{{ greeting }}, {{ name }}{{ punct }}{% endmacro %}{{ greet('Ann') }} {{ greet('Bob', punct='?') }} {{ greet(greeting='Hi', name='Cy') }}",
    "{% macro list_args() %}{{ varargs }}{{ kwargs }}{% endmacro %}{{ list_args(1, 2, k='v') }}",
    "{% macro rec(n) %}{% if n > 0 %}{{ n }}{{ rec(n - 1) }}{% endif %}{% endmacro %}{{ rec(5) }}",
    "{% macro wrap() %}<{{ caller() }}>{% endmacro %}{% call wrap() %}inside {{ n }}{% endcall %}",
    "{% macro m() %}{{ late }}{% endmacro %}{% set late = 'seen' %}{{ m() }}",
    "{% filter upper %}shout {{ n }}{% endfilter %}",
    "{% with a = 5 %}{{ a }}{% endwith %}[{{ a }}]",
    "{% generation %}kept{% endgeneration %}",
    # undefined semantics
    "[{{ nope }}] [{{ d.missing }}] [{{ xs[10] }}] [{{ none.attr }}] [{{ nope|length }}] [{{ nope is string }}]",
    "{{ users[0]['name'] }} {{ users[0].get('name') }} {{ users[0].get('zz', 'dflt') }} {{ users[0].get('zz') }} {{ d['items'] is defined }} {{ nested.a.b.c }} {{ nested['a']['b'] }}",
    "{% if nope %}yes{% elif n > 5 %}elif{% else %}no{% endif %} {% if nope is not defined and not nope %}ok{% endif %}",
    "{{ strftime_now('%Y-%m-%d %H:%M %A %B %d %b') }}",
    # precedence and grammar corners
    "{{ -2 ** 2 }} {{ 2 ** 3 ** 2 }} {{ 'x' if false else 'y' if false else 'z' }} {{ not nope is defined }} {{ 'a' 'b' }} {{ '}}' }} {{ {'a': {'b': 1}} }}",
    "{{ 1 ~ 2 ~ 3 * 2 }} {{ [1, 2] + [3] }} {{ (1, 2) + (3,) }} {{ 'ab' * 0 }} {{ 10 - 2 - 3 }} {{ 2 * 3 % 4 }} {{ 1 < 2 == true }}",
    "{{ 1e16 }} {{ 123456789.0 }} {{ 1e-7 }} {{ 0.000123 }} {{ 1/3 }} {{ 2.0 * 3 }} {{ 7 // 2.0 }} {{ [1e16, 0.5]|tojson }} {{ 12345678901234567 }}",
    "{{ nope == none }} {{ nope == nope }} {{ none == none }} {{ [] == [] }} {{ {'a': 1} == {'a': 1} }} {{ (1, 2) == [1, 2] }} {{ 'é' > 'e' }}",
    "{% macro m(a, b) %}[{{ a }}|{{ b }}]{% endmacro %}{{ m() }}{{ m(1) }}{{ m(b=2) }}",
    "{% for m in users|reverse %}{{ m.name }}{% endfor %} {{ users[-1].name }} {{ (users|last).name }} {{ users|length > 2 }}",
    "{% set ns = namespace(seen=false) %}{% for u in users %}{% if u.admin is defined and not u.admin %}{% set ns.seen = true %}{% endif %}{% endfor %}{{ ns.seen }}",
    "{% for x in xs %}{% set y = x * 2 %}{% if y > 2 %}{% set z = y %}{% endif %}{{ z }},{% endfor %}",
    "{{ d.get('a')[0] }} {{ d['a'][-1] }} {{ nested.a['b'].c }} {{ users[0]['age'] + 1 }} {{ (users|selectattr('admin', 'defined')|list)|length }}",
    "{{ s.split(',')[0].strip() }}|{{ s|trim|lower|replace(' ', '_') }}|{{ 'a-b-c'.split('-')|join('+') }}|{{ ('x' ~ n)|upper }}",
    "{{ xs|map('string')|join('') }} {{ users|map(attribute='age')|max }} {{ users|selectattr('age', '>=', 31)|list|length }} {{ xs|select('>', 1)|list }}",
    "{% if t %}\n    indented\n{% endif %}\n{%- if t %}\n    dash\n{% endif -%}\n  tail",
    "{{ '\\u00e9\\x41\\U0001F600' }} {{ 'tab\\tq\\'s' }} {{ \"d\\\"q\" }}",
    "{% set x = [1, 2] %}{% set y = x %}{{ y is sameas x }} {{ [1] is sameas [1] }} {{ x|list is sameas x }}",
    "{{ 'b' ~ d }} {{ xs|string|length }} {{ none|tojson }} {{ t|tojson }} {{ 'a\\u2028b'|tojson }} {{ {'k': none}|tojson(indent=1, separators=(',', ': ')) }}",
    # errors jinja2 raises: trident must raise too
    "{{ nope.attr }}",
    "{{ nope[0] }}",
    "{{ 'a' + 1 }}",
    "{{ 1 + none }}",
    "{{ xs.append(4) }}",
    "{{ d.update({}) }}",
    "{{ raise_exception('custom failure') }}",
    "{{ 1 / 0 }}",
    "{{ 5 // 0 }}",
    "{% for x in 5 %}{% endfor %}",
    "{{ nope() }}",
    "{{ 'x'|no_such_filter }}",
    "{{ nope|tojson }}",
    "{{ range(100001)|length }}",
    "{% if %}{% endif %}",
    "{% for x in xs %}",
    "{{ 'unterminated }}",
    "{% set x.y = 1 %}",
    "{% include 'other.jinja' %}",
    "{{ d.__class__ }}",
    "{{ 1 < 'a' }}",
    "{{ 1 ~ 2 + 3 }}",
    "{{ users|sort(attribute='admin')|list }}",
    "{% for a, b in xs %}{% endfor %}",
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
    snippets = []
    for text in SNIPPETS:
        case = {"template": text, "vars": V}
        try:
            case["expected"] = compile_template(text).render(
                messages=[], tools=None, documents=None, add_generation_prompt=True, bos_token="", eos_token="", **V)
        except Exception as e:
            case["error"] = f"{type(e).__name__}: {e}"
        snippets.append(case)
    with open(os.path.join(HERE, "snippets.json"), "w", encoding="utf-8") as f:
        json.dump(snippets, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"snippets.json: {len(snippets)} snippets, {sum('error' in c for c in snippets)} expected errors", file=sys.stderr)

    out = os.path.join(HERE, "expected.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=False, indent=1)
        f.write("\n")
    errors = sum("error" in c for c in cases)
    print(f"{out}: {len(cases)} cases ({len(names)} templates x {len(CONVERSATIONS)} conversations), "
          f"{errors} expected errors", file=sys.stderr)


if __name__ == "__main__":
    main()
