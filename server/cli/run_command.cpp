#include "cli/run_command.hpp"

#include "cli/sweeper.hpp"

#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "core/random.hpp"
#include "runner/executor.hpp"
#include "runner/outcome_json.hpp"
#include "sandbox/workspace.hpp"

namespace cli {
namespace {

using core::ErrorKind;

core::Result<std::string> read_source(const std::string& source, std::size_t limit) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (source != "-") {
    file.open(source, std::ios::binary);
    if (!file) return core::fail(ErrorKind::invalid_argument, "cannot read " + source);
    in = &file;
  }
  std::string code;
  char buffer[65536];
  while (in->read(buffer, sizeof buffer) || in->gcount() > 0) {
    code.append(buffer, static_cast<std::size_t>(in->gcount()));
    if (code.size() > limit) {
      return core::fail(ErrorKind::invalid_argument, "the program is larger than " + std::to_string(limit) + " bytes");
    }
  }
  return code;
}

}  // namespace

int report_error(const core::Error& error, std::ostream& err) {
  err << runner::dump_lossy({{"error", {{"kind", core::to_string(error.kind)}, {"message", error.message}}}}) << "\n";
  return kRunNotPossible;
}

int run_command(const config::Config& config, docker::Engine& engine, const RunArgs& args, std::ostream& out,
                std::ostream& err) {
  auto code = read_source(args.source, static_cast<std::size_t>(config.limits.code_bytes));
  if (!code) return report_error(code.error(), err);

  // Without a file secret a conversation cannot be named safely; a throwaway
  // run does not need one.
  const std::string secret = config.file_secret.empty() ? core::random_hex(32) : config.file_secret;
  if (!args.conversation_id.empty() && config.file_secret.empty()) {
    return report_error({ErrorKind::invalid_argument, "--conversation needs FILE_SECRET to name its directory"}, err);
  }
  auto registry = runner::Registry::discover(engine);
  if (!registry) return report_error(registry.error(), err);
  // A conversation may live in a directory the server's index bound it to.
  std::shared_ptr<sandbox::ConversationIndex> index;
  if (!args.conversation_id.empty()) {
    auto opened = sandbox::ConversationIndex::open(config.state_directory(), sandbox::kConversationsPerCaller);
    if (!opened) return report_error(opened.error(), err);
    index = std::move(*opened);
  }
  sandbox::Workspaces workspaces(config.sandbox_root, config.engine_sandbox_path(), secret,
                                 workspace_options(config, std::move(index)));
  if (auto ready = workspaces.prepare_root(); !ready) return report_error(ready.error(), err);
  auto workspace = args.conversation_id.empty() ? workspaces.open_ephemeral() : workspaces.open(args.conversation_id);
  if (!workspace) return report_error(workspace.error(), err);

  runner::RunnerCatalog catalog(std::move(*registry));
  runner::ExecutorOptions options{config.limits, config.runner_runtime, config.allow_network, "cli-" + core::random_hex(6)};
  options.egress = runner::egress_settings(config);
  runner::Executor executor(engine, catalog, std::move(options));
  runner::RunRequest request;
  request.language = args.language;
  request.code = std::move(*code);
  request.stdin_data = args.stdin_text.value_or("");
  request.timeout_seconds = args.timeout_seconds;
  request.network = args.network;
  request.workspace = *workspace;
  auto outcome = executor.run(request);
  workspaces.discard(*workspace);
  if (!outcome) return report_error(outcome.error(), err);

  auto json = runner::outcome_to_json(*outcome);
  json["runId"] = outcome->run_id;
  if (!args.conversation_id.empty()) json["conversationId"] = args.conversation_id;
  out << runner::dump_lossy(json, 2) << "\n";
  return outcome->succeeded() ? kRunSucceeded : kRunProgramFailed;
}

}  // namespace cli
