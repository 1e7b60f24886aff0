// mcp-sandbox: flags + environment -> Config -> engine -> subcommand.
#include <CLI/CLI.hpp>

#include <iostream>

#include "cli/doctor.hpp"
#include "cli/egress_proxy.hpp"
#include "cli/oauth_command.hpp"
#include "cli/logging.hpp"
#include "cli/run_command.hpp"
#include "cli/serve.hpp"
#include "config/config.hpp"
#include "core/version.hpp"
#include "docker/curl_engine.hpp"

namespace {

constexpr int kConfigError = 2;

docker::EngineOptions engine_options(const config::Config& config) {
  docker::EngineOptions options;
  options.host = config.docker_host;
  options.call_timeout = std::chrono::seconds(config.engine_timeout_seconds);
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mcp-sandbox: run untrusted code for AI assistants, one fresh container per run"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "mcp-sandbox " + std::string(core::kVersion));
  config::Config config;

  cli::RunArgs run_args;
  auto* run = app.add_subcommand("run", "Run one program in a fresh container and print the outcome as JSON");
  config::register_settings(*run, config);
  run->add_option("--language,-l", run_args.language, "Language or alias (python, typescript, javascript, bash, ...)")
      ->required();
  run->add_option("--conversation,-c", run_args.conversation_id,
                  "Conversation id whose directory is mounted at /data (default: a throwaway directory)");
  run->add_option("--timeout,-t", run_args.timeout_seconds, "Seconds before the run is killed (at most RUN_TIMEOUT_SECONDS)")
      ->check(CLI::PositiveNumber);
  run->add_flag("--network", run_args.network, "Ask for network access (only when ALLOW_NETWORK permits it)");
  run->add_option("--stdin", run_args.stdin_text, "Text given to the program on standard input");
  run->add_option("source", run_args.source, "Program file, or - to read it from standard input")->required();
  run->footer(
      "Exit status: 0 the program exited 0; 1 it failed (non-zero exit, timeout, OOM); 2 bad settings; 3 the run "
      "could not happen (error JSON on stderr).");

  auto* serve = app.add_subcommand("serve", "Serve MCP over HTTP (Streamable HTTP, stateless 2026-07-28, legacy SSE)");
  config::register_settings(*serve, config);

  auto* doctor = app.add_subcommand("doctor", "Check the engine, runner images, limits, sandbox root and secrets");
  config::register_settings(*doctor, config);

  auto* egress_proxy = app.add_subcommand(
      "egress-proxy", "Serve the filtering proxy that is the only way out for runs with egress (docs/security.md)");
  config::register_settings(*egress_proxy, config);
  cli::OAuthArgs oauth_args;
  auto* oauth = app.add_subcommand("oauth", "List or revoke the clients the owner allowed through OAuth");
  config::register_settings(*oauth, config);
  oauth->require_subcommand(1);
  // fallthrough: the settings (--state-dir, --sandbox-root) may follow the action as well.
  oauth->add_subcommand("list", "Print every grant: id, client, when allowed, last used")
      ->fallthrough()
      ->callback([&oauth_args] { oauth_args.list = true; });
  auto* revoke = oauth->add_subcommand("revoke", "Revoke a grant (its tokens stop working at once)")->fallthrough();
  revoke->add_option("grant", oauth_args.revoke, "A grant id from `oauth list`, or all")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error) == 0 ? 0 : kConfigError;
  }

  auto problems = config::resolve_secret_files(config);
  for (auto& problem : config::validate(config)) problems.push_back(std::move(problem));
  if (!problems.empty()) {
    for (const auto& problem : problems) std::cerr << "configuration: " << problem << "\n";
    return kConfigError;
  }
  cli::setup_logging(config.log_level, config.log_format);
  if (oauth->parsed()) return cli::oauth_command(config, oauth_args, std::cout, std::cerr);

  // The proxy needs no engine and no secret; it runs apart from the server.
  if (egress_proxy->parsed()) return cli::egress_proxy(config, std::cerr);

  auto engine = docker::connect_engine(engine_options(config));
  if (doctor->parsed()) return cli::doctor(config, engine, std::cout);

  if (!engine) return cli::report_error(engine.error(), std::cerr);
  if (serve->parsed()) return cli::serve(config, **engine);
  return cli::run_command(config, **engine, run_args, std::cout, std::cerr);
}
