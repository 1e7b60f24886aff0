// Catch2's implementation lives in this file, once for every test binary.
#define CATCH_CONFIG_RUNNER
#include "support/test_session.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

namespace testing {

namespace {

bool is_root() { return ::geteuid() == 0; }

bool needs_root(const Catch::TestCase& test) {
  const auto& tags = test.getTestCaseInfo().lcaseTags;
  return std::find(tags.begin(), tags.end(), kRootTag) != tags.end();
}

// A Catch2 test spec matching exactly `name`: the characters the spec parser gives a meaning
// (separator, tag brackets, wildcards, exclusion, quotes, escape) are escaped.
std::string exact_spec(const std::string& name) {
  std::string spec;
  for (const char c : name) {
    if (std::string_view("\\,[]*~\"").find(c) != std::string_view::npos) spec += '\\';
    spec += c;
  }
  return spec;
}

}  // namespace

struct TestSession::State {
  Catch::Session session;
  std::optional<int> early;
  std::vector<std::string> left_out;  // names of the selected cases this process cannot run
  bool listing = false;
};

TestSession::TestSession(int argc, char** argv) : m_state(std::make_unique<State>()) {
  State& state = *m_state;
  const int refused = state.session.applyCommandLine(argc, argv);
  if (refused != 0) {
    state.early = refused;
    return;
  }
  Catch::ConfigData data = state.session.configData();
  state.listing = data.listTests || data.listTestNamesOnly || data.listTags || data.listReporters ||
                  data.showHelp || data.libIdentify;
  // A listing (ctest's test discovery among them) names every case, whoever runs it.
  if (state.listing) return;

  Catch::Config& config = state.session.config();
  const auto selected = Catch::filterTests(Catch::getAllTestCasesSorted(config), config.testSpec(), config);
  if (selected.empty()) {
    std::cerr << "FAILED: no test case matches the selection\n";
    state.early = 1;
    return;
  }
  std::vector<std::string> runnable;
  for (const auto& test : selected) {
    (needs_root(test) && !is_root() ? state.left_out : runnable).push_back(test.name);
  }
  if (state.left_out.empty()) return;

  std::cerr << "SKIPPED (not root): " << state.left_out.size() << " test case(s) tagged [" << kRootTag
            << "] need root:\n";
  for (const auto& name : state.left_out) std::cerr << "  " << name << "\n";
  if (runnable.empty()) {
    state.early = kSkipped;
    return;
  }
  // Run the others. Without a selection "~[root]" says so in Catch2's header; a selection is
  // replaced by the exact names it matched that can run here.
  if (!config.hasTestFilters()) {
    data.testsOrTags = {std::string("~[") + kRootTag + "]"};
  } else {
    std::string names;
    for (const auto& name : runnable) names += (names.empty() ? "" : ",") + exact_spec(name);
    data.testsOrTags = {names};
  }
  state.session.useConfigData(data);
}

TestSession::~TestSession() = default;

std::optional<int> TestSession::finished_early() const { return m_state->early; }

int TestSession::run() {
  State& state = *m_state;
  if (state.early) return *state.early;
  const int result = state.session.run();
  if (state.listing) return result;
  // Catch2 returns the number of failed assertions (capped at 255): any number, even 77, is a failure.
  if (result != 0) return 1;
  if (state.left_out.empty()) return 0;
  std::cerr << "SKIPPED (not root): " << state.left_out.size() << " test case(s) did not run (named above)\n";
  return kSkipped;
}

int run_tests(int argc, char** argv) {
  TestSession session(argc, argv);
  return session.run();
}

}  // namespace testing
