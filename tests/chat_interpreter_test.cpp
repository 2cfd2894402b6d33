// The chat-template interpreter's contract beyond jinja2 equality (chat_template_test.cpp):
// exact error texts with positions, every bound (work, call depth, nesting, output and value
// sizes, template and JSON size), the sandbox, and the `trident chat-template` command.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "chat/chat_template.h"
#include "format/error.h"
#include "test_util.h"

namespace trident {
namespace {

std::string render(const std::string& tmpl, const ChatTemplateLimits& limits = {}) {
  ChatTemplateInputs in;
  in.messages = nlohmann::ordered_json::parse(R"([{"role": "user", "content": "hi"}])");
  return render_chat_template(tmpl, in, limits);
}

std::string error_of(const std::string& tmpl, const ChatTemplateLimits& limits = {}) {
  try {
    render(tmpl, limits);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ChatInterpreter, RendersInputs) {
  EXPECT_EQ(render("{{ messages[0].role }}:{{ messages[0]['content'] }} {{ add_generation_prompt }} {{ tools }}"),
            "user:hi True None");
}

TEST(ChatInterpreter, SyntaxErrorsNameLineAndColumn) {
  EXPECT_EQ(error_of("{% if x %}\n{{ 1 + }}{% endif %}"), "chat template: line 2 column 8: expected an expression, found '}}'");
  EXPECT_EQ(error_of("ab{{ x"), "chat template: line 1 column 3: tag {{ is not closed with }}");
  EXPECT_EQ(error_of("{% for x in y %}"), "chat template: line 1 column 17: missing '{% endfor %}'");
  EXPECT_EQ(error_of("{% if x %}{% endfor %}"), "chat template: line 1 column 14: unknown statement 'endfor'");
  EXPECT_EQ(error_of("\n\n  {{ @ }}"), "chat template: line 3 column 6: unexpected character '@'");
  EXPECT_EQ(error_of("{{ 'abc }}"), "chat template: line 1 column 4: string literal is not closed");
  EXPECT_EQ(error_of("{# note"), "chat template: line 1 column 1: comment {# is not closed with #}");
  EXPECT_EQ(error_of("{% include 'x' %}"),
            "chat template: line 1 column 4: '{% include %}' is not supported: a chat template is one self-contained text");
}

// Found by fuzz_chat_template: `x.DIGITS` beyond int64 threw std::out_of_range past every handler.
TEST(ChatInterpreter, HugeIndicesAreErrorsOrMisses) {
  EXPECT_NE(error_of("{{ 'hello'.99999999999999999999 }}").find("integer literal 99999999999999999999 is out of range"),
            std::string::npos);
  EXPECT_NE(error_of("{{ [1][99999999999999999999] }}").find("out of range"), std::string::npos);
  EXPECT_EQ(render("{{ messages|map(attribute='99999999999999999999')|list|length }}"), "1");
}

// Found by fuzz_chat_template: a filter's integer argument of another type was std::bad_variant_access.
TEST(ChatInterpreter, FilterIntegerArgumentsOfOtherTypesAreErrors) {
  EXPECT_NE(error_of("{{ [1, 2]|batch(x)|list }}").find("batch: linecount must be an integer"), std::string::npos);
  EXPECT_NE(error_of("{{ 'a'|center('w') }}").find("center: width must be an integer"), std::string::npos);
  EXPECT_NE(error_of("{{ 1.5|round(1.5) }}").find("round: precision must be an integer"), std::string::npos);
  EXPECT_NE(error_of("{{ 'a'|replace('a', 'b', 'c') }}").find("replace: count must be an integer"), std::string::npos);
  EXPECT_NE(error_of("{{ 'a'|indent([]) }}").find("indent: width must be an integer"), std::string::npos);
  EXPECT_EQ(render("{{ 'ab'|indent(true, true) }}"), " ab");
}

TEST(ChatInterpreter, RuntimeErrorsNameTheLine) {
  EXPECT_EQ(error_of("a\n\n{{ raise_exception('Only user and assistant roles are supported!') }}"),
            "chat template: line 3: the template raised an exception: Only user and assistant roles are supported!");
  EXPECT_EQ(error_of("\n{{ x|nope }}"), "chat template: line 2: unknown filter 'nope'");
  EXPECT_EQ(error_of("{{ 'a' + 1 }}"), "chat template: line 1: can only concatenate str (not \"int\") to str");
  EXPECT_EQ(error_of("{{ missing.attr }}"), "chat template: line 1: 'missing' is undefined");
  EXPECT_EQ(error_of("{{ messages[3].role }}"), "chat template: line 1: list object has no element 3");
  EXPECT_EQ(error_of("{{ 1 // 0 }}"), "chat template: line 1: integer division or modulo by zero");
  EXPECT_EQ(error_of("{% for x in 5 %}{% endfor %}"), "chat template: line 1: 'int' object is not iterable");
  EXPECT_EQ(error_of("{{ 2 ** 64 }}"),
            "chat template: line 1: integer overflow (Python integers are unbounded; trident's are 64-bit)");
  EXPECT_EQ(error_of("{% set x.y = 1 %}"), "chat template: line 1: cannot assign attribute 'y' on 'x', which is not a namespace()");
}

TEST(ChatInterpreter, SandboxKeepsToTheInputs) {
  // Names starting with an underscore are hidden; methods that would change the inputs are
  // refused, as in jinja2's ImmutableSandboxedEnvironment.
  EXPECT_EQ(render("[{{ messages.__class__ }}][{{ ''.__len__ }}]"), "[][]");
  EXPECT_EQ(error_of("{{ messages.__class__.__mro__ }}"),
            "chat template: line 1: access to attribute '__class__' of 'list' object is unsafe");
  EXPECT_EQ(error_of("{{ messages.append(1) }}"),
            "chat template: line 1: access to attribute 'append' of 'list' object is unsafe (called as a function)");
  EXPECT_EQ(error_of("{{ messages[0].update({}) }}"),
            "chat template: line 1: access to attribute 'update' of 'dict' object is unsafe (called as a function)");
  EXPECT_EQ(error_of("{{ range(100001)|length }}"),
            "chat template: line 1: Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
  // A top-level set shadows an input without changing what the caller passed.
  EXPECT_EQ(render("{% set messages = [] %}{{ messages|length }}"), "0");
}

TEST(ChatInterpreter, BoundsStopHostileTemplates) {
  EXPECT_EQ(error_of("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"),
            "chat template: evaluation took more than the limit of 5000000 steps");
  EXPECT_EQ(error_of("{% macro r(n) %}{{ r(n + 1) }}{% endmacro %}{{ r(0) }}"),
            "chat template: line 1: macro calls nested deeper than the limit of 50");
  EXPECT_EQ(error_of("{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}"),
            "chat template: line 1: the output exceeds the limit of 8388608 bytes");
  EXPECT_EQ(error_of("{{ 'x' * 100000000 }}"), "chat template: line 1: a repeated string exceeds the limit of 8388608 bytes");
  EXPECT_EQ(error_of("{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}"),
            "chat template: line 1: a string of 16777216 bytes exceeds the limit of 8388608");
  EXPECT_EQ(error_of("{{ " + std::string(300, '(') + "1" + std::string(300, ')') + " }}"),
            "chat template: line 1 column 53: nesting deeper than the limit of 100");
  std::string deep_blocks;
  for (int i = 0; i < 300; ++i) deep_blocks += "{% if 1 %}";
  EXPECT_EQ(error_of(deep_blocks), "chat template: line 1 column 987: nesting deeper than the limit of 100");
  // The deepest recursion the bounds allow (50 macro calls, each ~95 levels deep) ends in the
  // call-depth error, well inside a 1 MiB stack in a release build.
  std::string ifs, endifs;
  for (int i = 0; i < 48; ++i) ifs += "{% if 1 %}", endifs += "{% endif %}";
  EXPECT_EQ(error_of("{% macro r(n) %}" + ifs + "{{ r(n + 1) }}" + endifs + "{% endmacro %}{{ r(0) }}"),
            "chat template: line 1: macro calls nested deeper than the limit of 50");
  EXPECT_EQ(error_of("{% macro r(n) %}{{ " + std::string(47, '(') + "r(n + 1)" + std::string(47, ')') +
                     " }}{% endmacro %}{{ r(0) }}"),
            "chat template: line 1: macro calls nested deeper than the limit of 50");
  EXPECT_EQ(error_of(std::string((1 << 20) + 1, 'x')), "chat template: the template is 1048577 bytes, more than the limit of 1048576");
  // Smaller limits apply as given.
  ChatTemplateLimits small;
  small.max_output_bytes = 10;
  EXPECT_EQ(error_of("{{ 'x' * 11 }}", small), "chat template: line 1: the output exceeds the limit of 10 bytes");
  small.max_list_items = 10;
  EXPECT_EQ(error_of("{{ [1] * 11 }}", small), "chat template: line 1: a repeated list exceeds the limit of 10 items");
}

TEST(ChatInterpreter, RealTemplatesNeedFarLessThanTheWorkBound) {
  // Every conversation of every public template renders within 1/25 of the default bound.
  const std::string dir = std::string(TRIDENT_SOURCE_DIR) + "/tests/data/chat_templates/";
  std::ifstream f(dir + "expected.json");
  std::stringstream ss;
  ss << f.rdbuf();
  ChatTemplateLimits tight;
  tight.max_work = ChatTemplateLimits{}.max_work / 25;
  int rendered = 0;
  for (const auto& c : nlohmann::ordered_json::parse(ss.str())) {
    if (c.contains("error")) continue;
    std::ifstream t(dir + c["template"].get<std::string>() + ".jinja");
    std::stringstream ts;
    ts << t.rdbuf();
    ChatTemplateInputs in;
    in.messages = c["messages"];
    in.tools = c["tools"];
    in.extra = c["extra"];
    EXPECT_NO_THROW(render_chat_template(ts.str(), in, tight)) << c["template"] << " " << c["conversation"];
    ++rendered;
  }
  EXPECT_GT(rendered, 150);
}

TEST(ChatInterpreter, StrftimeNowUsesTheInjectedClock) {
  ChatTemplateInputs in;
  in.clock = [] {
    std::tm t{};
    t.tm_year = 2024 - 1900;
    t.tm_mon = 6;
    t.tm_mday = 26;
    return t;
  };
  EXPECT_EQ(render_chat_template("{{ strftime_now('%d %b %Y') }}", in), "26 Jul 2024");
}

TEST(ChatInterpreter, JsonInputsKeepKeyOrderAndAreBounded) {
  ChatTemplateInputs in;
  in.messages = parse_chat_json(R"([{"z": 1, "a": 2}])", "messages");
  EXPECT_EQ(render_chat_template("{{ messages[0]|tojson }}", in), R"({"z": 1, "a": 2})");
  EXPECT_THROW(parse_chat_json(std::string(1000, '[') + std::string(1000, ']'), "--messages m.json"), Error);
  try {
    parse_chat_json("[1,", "--messages m.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("--messages m.json: not valid JSON (", 0), 0u) << e.what();
  }
}

class ChatTemplateCli : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& text) {
    const std::string p = test::temp_path(name);
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
};

TEST_F(ChatTemplateCli, RendersAFileTemplate) {
  const std::string tmpl = write("t.jinja",
                                 "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}"
                                 "{% if tools %}[{{ tools|length }} tools]{% endif %}"
                                 "{% if add_generation_prompt %}<assistant>{% endif %}{{ flavour }}");
  const std::string msgs = write("m.json", R"([{"role": "user", "content": "hi"}])");
  const std::string tools = write("tools.json", R"([{"type": "function", "function": {"name": "f"}}])");
  auto r = test::run_trident("chat-template --chat-template-file " + tmpl + " --messages " + msgs);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "<user>hi<assistant>");
  r = test::run_trident("chat-template --chat-template " + tmpl + " --messages " + msgs + " --tools " + tools +
                        " --no-generation-prompt --kwargs '{\"flavour\": \"!\"}'");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "<user>hi[1 tools]!");
}

TEST_F(ChatTemplateCli, ReadsTheModelsTokens) {
  // stories260K has no chat template: the file's BOS/EOS texts still reach an explicit one.
  const std::string tmpl = write("bos.jinja", "{{ bos_token }}|{{ eos_token }}");
  const std::string msgs = write("m2.json", "[]");
  auto r = test::run_trident("chat-template -m " + test::shared_dir() + "/models/stories260K.gguf --chat-template-file " +
                             tmpl + " --messages " + msgs);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "<s>|</s>");
  test::expect_cli_error("chat-template -m " + test::shared_dir() + "/models/stories260K.gguf --messages " + msgs,
                         "no tokenizer.chat_template in the file; give --chat-template-file FILE");
}

TEST_F(ChatTemplateCli, RendersTheModelsOwnTemplate) {
  // llama.cpp's Phi-3 vocabulary file carries tokenizer.chat_template; python3-jinja2 renders
  // this conversation to the same text (the template drops system messages).
  const std::string msgs = write("m4.json", R"([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}])");
  auto r = test::run_trident("chat-template -m " + test::shared_dir() + "/models/ggml-vocab-phi-3.gguf --messages " + msgs);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "<s><|user|>\nHi<|end|>\n<|assistant|>\n");
}

TEST_F(ChatTemplateCli, BadInputIsOneLine) {
  const std::string tmpl = write("bad.jinja", "{{ raise_exception('nope') }}");
  const std::string msgs = write("m3.json", "[]");
  test::expect_cli_error("chat-template --chat-template-file " + tmpl + " --messages " + msgs,
                         "chat template: line 1: the template raised an exception: nope");
  test::expect_cli_error("chat-template --chat-template-file " + tmpl + " --messages " + write("bad.json", "{"),
                         "not valid JSON");
  test::expect_cli_error("chat-template --chat-template-file " + tmpl + " --messages " + write("obj.json", "{\"a\": 1}"),
                         "expected a JSON array of messages");
  test::expect_cli_error("chat-template --chat-template-file " + tmpl + " --messages " + msgs + " --kwargs '[1]'",
                         "--kwargs: expected a JSON object");
  test::expect_cli_error("chat-template --messages " + msgs + " --chat-template-file /nonexistent.jinja",
                         "--chat-template-file /nonexistent.jinja: cannot read the file");
}

}  // namespace
}  // namespace trident
