// Every template in tests/data/chat_templates renders every conversation byte for byte as
// python3-jinja2 does under transformers' settings (expected.json, written by
// render_expected.py), or fails where jinja2 fails.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "chat/chat_template.h"
#include "format/error.h"

namespace trident {
namespace {

const std::string kDir = std::string(TRIDENT_SOURCE_DIR) + "/tests/data/chat_templates/";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const nlohmann::ordered_json& all_cases() {
  static const nlohmann::ordered_json cases = nlohmann::ordered_json::parse(read_file(kDir + "expected.json"));
  return cases;
}

std::vector<std::string> template_names() {
  std::vector<std::string> names;
  for (const auto& c : all_cases()) {
    const std::string t = c["template"].get<std::string>();
    if (names.empty() || names.back() != t) names.push_back(t);
  }
  return names;
}

// The date render_expected.py fixes for strftime_now: 2026-01-15 10:30:00 (a Thursday).
std::tm fixed_clock() {
  std::tm t{};
  t.tm_year = 2026 - 1900;
  t.tm_mon = 0;
  t.tm_mday = 15;
  t.tm_hour = 10;
  t.tm_min = 30;
  t.tm_wday = 4;
  t.tm_yday = 14;
  return t;
}

ChatTemplateInputs inputs_of(const nlohmann::ordered_json& c) {
  ChatTemplateInputs in;
  in.messages = c["messages"];
  in.tools = c["tools"];
  in.add_generation_prompt = c["add_generation_prompt"].get<bool>();
  in.bos_token = c["bos_token"].get<std::string>();
  in.eos_token = c["eos_token"].get<std::string>();
  in.extra = c["extra"];
  in.clock = fixed_clock;
  return in;
}

// Where jinja2 raised, trident must raise too; a message the template itself raised
// (raise_exception -> "TemplateError: MSG") must come through word for word.
template <typename F>
void expect_same_error(const std::string& jinja_error, F render) {
  try {
    render();
    ADD_FAILURE() << "rendered, but jinja2 raised " << jinja_error;
  } catch (const Error& e) {
    const std::string prefix = "TemplateError: ";
    if (jinja_error.rfind(prefix, 0) == 0) {
      const std::string want = "the template raised an exception: " + jinja_error.substr(prefix.size());
      const std::string got = e.what();
      EXPECT_TRUE(got.size() >= want.size() && got.compare(got.size() - want.size(), want.size(), want) == 0)
          << got << "\nwanted the message: " << want;
    }
  }
}

class ChatTemplateMatchesJinja2 : public ::testing::TestWithParam<std::string> {};

TEST_P(ChatTemplateMatchesJinja2, EveryConversation) {
  const std::string name = GetParam();
  const std::string tmpl = read_file(kDir + name + ".jinja");
  int n = 0;
  for (const auto& c : all_cases()) {
    if (c["template"] != name) continue;
    ++n;
    SCOPED_TRACE(c["conversation"].get<std::string>());
    if (c.contains("error")) {
      expect_same_error(c["error"].get<std::string>(), [&] { render_chat_template(tmpl, inputs_of(c)); });
      continue;
    }
    try {
      EXPECT_EQ(render_chat_template(tmpl, inputs_of(c)), c["expected"].get<std::string>());
    } catch (const Error& e) {
      ADD_FAILURE() << e.what();
    }
  }
  EXPECT_GT(n, 0);
}

INSTANTIATE_TEST_SUITE_P(Templates, ChatTemplateMatchesJinja2, ::testing::ValuesIn(template_names()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string s;
                           for (char ch : info.param) s += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
                           return s;
                         });

// Small templates pinning one behaviour each (snippets.json, from render_expected.py).
TEST(ChatTemplateSnippets, MatchJinja2) {
  const auto snippets = nlohmann::ordered_json::parse(read_file(kDir + "snippets.json"));
  ASSERT_GT(snippets.size(), 50u);
  for (const auto& c : snippets) {
    const std::string tmpl = c["template"].get<std::string>();
    SCOPED_TRACE(tmpl);
    ChatTemplateInputs in;
    in.extra = c["vars"];
    in.clock = fixed_clock;
    if (c.contains("error")) {
      expect_same_error(c["error"].get<std::string>(), [&] { render_chat_template(tmpl, in); });
      continue;
    }
    try {
      EXPECT_EQ(render_chat_template(tmpl, in), c["expected"].get<std::string>());
    } catch (const Error& e) {
      ADD_FAILURE() << e.what();
    }
  }
}

}  // namespace
}  // namespace trident
