#include "tools/run_code.hpp"

#include <algorithm>
#include <sstream>
#include <utility>

#include "core/encoding.hpp"
#include "runner/code_run.hpp"
#include "runner/dependencies.hpp"
#include "runner/outcome_json.hpp"
#include "runner/package_install.hpp"
#include "runner/runner_limits.hpp"
#include "tools/common.hpp"

namespace tools {
namespace {

// The limits a run in `language` gets: a runner's manifest may raise the defaults (a compiler).
config::RunLimits limits_for_language(const Services& services, const std::string& language) {
  const auto registry = services.catalog.current();
  const runner::Runner* found = registry->find(language);
  return found != nullptr ? runner::limits_for(found->manifest, services.run_limits) : services.run_limits;
}

// One line a model can act on, first thing in the summary.
std::string verdict(const runner::RunOutcome& outcome, const config::RunLimits& limits, int timeout) {
  std::ostringstream text;
  if (outcome.timed_out) {
    text << "The program was killed after " << timeout << " s (its time limit; the server allows at most "
         << limits.timeout_seconds << " s). Make it do less work or finish sooner.";
  } else if (outcome.oom_killed) {
    text << "The program was killed for using more than " << limits.memory_mb
         << " MiB of memory. Process the data in smaller pieces.";
  } else if (outcome.exit_code != 0) {
    text << "The program exited with code " << outcome.exit_code << "; see stderr below.";
  } else {
    text << "The program ran successfully.";
  }
  text << " (" << outcome.language << ", " << outcome.duration.count() << " ms)";
  if (outcome.truncated) text << " Output was longer than " << limits.output_bytes << " bytes per stream and was cut.";
  return text.str();
}

void append_stream(std::ostringstream& text, const char* name, const std::string& data) {
  if (data.empty()) return;
  text << "\n\n--- " << name << " ---\n" << data;
}

// A run_code call read from its arguments: the run it asks for, in which conversation.
struct CodeCall {
  Conversation conversation;
  runner::RunRequest request;
};

// The runners that install dependencies, for a message naming them.
std::string installing_runners(const Services& services) {
  std::string names;
  for (const auto& runner : services.catalog.current()->runners()) {
    if (runner.manifest.packages.present()) names += (names.empty() ? "" : ", ") + runner.manifest.language;
  }
  return names.empty() ? "none on this server" : names;
}

// A call's `dependencies`, checked against the grammar of the runner's installer; an unknown
// language is left to the run to report, as without dependencies.
core::Result<std::vector<std::string>> checked_dependencies(const Services& services, const std::string& language,
                                                            const std::vector<std::string>& entries) {
  if (entries.empty()) return std::vector<std::string>{};
  const auto registry = services.catalog.current();
  const runner::Runner* runner = registry->find(language);
  if (runner == nullptr) return std::vector<std::string>{};
  if (!runner->manifest.packages.present()) {
    return core::fail(core::ErrorKind::invalid_argument, "the " + runner->manifest.language +
                                                             " runner does not install dependencies (runners that do: " +
                                                             installing_runners(services) + ")");
  }
  if (auto reachable = runner::packages_reachable(services.executor.egress(), runner->manifest); !reachable) {
    return core::fail(reachable.error());
  }
  auto checked = runner::check_dependencies(runner->manifest.packages.installer, entries);
  if (!checked) return core::fail(checked.error());
  return std::move(checked->specs);
}

core::Result<CodeCall> parse_call(const json& arguments, mcp::ToolContext& context, const Services& services) {
  const Arguments args(arguments);
  auto language = args.required_string("language");
  auto code = args.required_string("code");
  auto timeout = args.optional_int("timeoutSeconds");
  auto stdin_text = args.optional_string("stdin");
  auto environment = args.optional_string_map("environment");
  auto network = args.optional_bool("network");
  auto egress = args.optional_string("egress");
  auto dependencies = args.optional_string_array("dependencies");
  for (const core::Error* error :
       {language ? nullptr : &language.error(), code ? nullptr : &code.error(), timeout ? nullptr : &timeout.error(),
        stdin_text ? nullptr : &stdin_text.error(), environment ? nullptr : &environment.error(),
        network ? nullptr : &network.error(), egress ? nullptr : &egress.error(),
        dependencies ? nullptr : &dependencies.error()}) {
    if (error != nullptr) return core::fail(*error);
  }
  auto policy = runner::parse_egress_policy(egress->value_or("none"));
  if (!policy) return core::fail(policy.error());
  auto specs = checked_dependencies(services, *language, *dependencies);
  if (!specs) return core::fail(specs.error());
  // A new conversation's first run may take a started container from the pool: only a run the
  // pooled container fits (no network or egress, no extra environment: the spec it was made with).
  std::function<std::optional<sandbox::Workspace>()> take_fresh;
  if (services.new_conversations != nullptr && !network->value_or(false) && *policy == runner::EgressPolicy::none &&
      environment->empty()) {
    take_fresh = [&services, &language] { return services.new_conversations->take(*language); };
  }
  auto conversation = resolve_conversation(args, context, services, take_fresh);
  if (!conversation) return core::fail(conversation.error());
  runner::RunRequest request;
  request.language = std::move(*language);
  request.code = std::move(*code);
  request.stdin_data = stdin_text->value_or("");
  request.timeout_seconds = *timeout;
  request.files_url = files_url(services, conversation->workspace);
  request.environment = std::move(*environment);
  request.network = network->value_or(false);
  request.egress = *policy;
  request.dependencies = std::move(*specs);
  request.workspace = conversation->workspace;
  request.cancel = context.cancelled;
  return CodeCall{std::move(*conversation), std::move(request)};
}

// The CallToolResult of a run: a summary a model reads first, the output, the files with their
// download URLs, and the images the run made, inline.
// The install part of a run's result: what was asked, and the installer's run when one ran.
json install_json(const runner::InstallReport& install) {
  json out = {{"packages", install.packages}, {"cached", install.cached}};
  if (install.outcome) {
    out["exitCode"] = install.outcome->exit_code;
    out["timedOut"] = install.outcome->timed_out;
    out["oomKilled"] = install.outcome->oom_killed;
    out["durationMs"] = install.outcome->duration.count();
    out["stdout"] = install.outcome->stdout_data;
    out["stderr"] = install.outcome->stderr_data;
  }
  return out;
}

std::string joined(const std::vector<std::string>& items) {
  std::string text;
  for (const auto& item : items) text += (text.empty() ? "" : " ") + item;
  return text;
}

// Dependencies that could not be installed: the program did not run; the installer says why.
json present_failed_install(const runner::InstallReport& install, const Conversation& conversation,
                            int timeout_seconds) {
  const auto& outcome = *install.outcome;
  std::ostringstream text;
  text << "The dependencies (" << joined(install.packages) << ") could not be installed, so the program did not run: ";
  if (outcome.timed_out) {
    text << "installing took the whole time limit (" << timeout_seconds << " s, shared by the install and the program).";
  } else if (outcome.oom_killed) {
    text << "the installer ran out of memory.";
  } else {
    text << "the installer exited with code " << outcome.exit_code << "; see its output below.";
  }
  append_stream(text, "install stdout", outcome.stdout_data);
  append_stream(text, "install stderr", outcome.stderr_data);
  json structured = runner::outcome_to_json(outcome);
  structured["stdout"] = "";
  structured["stderr"] = "";
  structured["conversationId"] = conversation.id;
  structured["files"] = json::array();
  structured["install"] = install_json(install);
  json result = success(text.str(), std::move(structured));
  result["isError"] = true;
  return result;
}

json present(const runner::CodeRunResult& ran, const Conversation& conversation, const Services& services,
             int timeout_seconds) {
  if (ran.install && !ran.install->succeeded()) return present_failed_install(*ran.install, conversation, timeout_seconds);
  const auto& outcome = ran.outcome;
  json file_list = json::array();
  for (const auto& file : ran.files) file_list.push_back(file_entry(services, conversation.workspace, file.path, file.size));
  const auto full_note = storage_full_note(ran.usage);
  std::ostringstream text;
  text << verdict(outcome, limits_for_language(services, outcome.language), timeout_seconds);
  if (!full_note.empty()) text << "\n" << full_note;
  if (ran.install) {
    text << "\nDependencies " << joined(ran.install->packages)
         << (ran.install->cached ? ": already installed in this conversation."
                                 : ": installed (" + std::to_string(ran.install->outcome->duration.count()) + " ms).");
  }
  append_stream(text, "stdout", outcome.stdout_data);
  append_stream(text, "stderr", outcome.stderr_data);
  if (!file_list.empty()) {
    text << "\n\n--- files in /data (conversationId " << conversation.id << ") ---";
    for (const auto& file : file_list) {
      text << "\n" << file["name"].get<std::string>() << " (" << file["size"].get<std::int64_t>() << " bytes): "
           << file["url"].get<std::string>();
    }
  }
  json structured = runner::outcome_to_json(outcome);
  structured["conversationId"] = conversation.id;
  structured["files"] = std::move(file_list);
  structured["filesTruncated"] = ran.files_truncated;
  structured["storage"] = storage_json(ran.usage);
  if (ran.install) structured["install"] = install_json(*ran.install);
  json result = success(text.str(), std::move(structured));
  for (const auto& image : ran.images) {
    result["content"].push_back(
        {{"type", "image"}, {"data", core::base64_encode(image.bytes)}, {"mimeType", image.mime_type}});
  }
  // The files the run made or changed, as resources a client can show, fetch or attach.
  for (const auto& file : ran.files) {
    if (file.changed) result["content"].push_back(resource_link(services, conversation, file.path, file.size));
  }
  result["isError"] = !outcome.succeeded();
  return result;
}

// The `egress` argument: the policies this server offers, each explained.
json egress_schema(const runner::EgressSettings& settings) {
  json names = json::array({"none"});
  std::string description =
      "The program's way out: none (default) = no network; every other policy goes through a filtering proxy "
      "(HTTP and HTTPS via HTTP_PROXY/HTTPS_PROXY, no other route; private and metadata addresses are never "
      "reachable).";
  for (const auto policy : settings.offered) {
    names.push_back(std::string(runner::to_string(policy)));
    switch (policy) {
      case runner::EgressPolicy::packages: description += " packages = the language's package registries only."; break;
      case runner::EgressPolicy::allowlist: description += " allowlist = the hosts this server's operator lists."; break;
      case runner::EgressPolicy::open: description += " open = any public address."; break;
      case runner::EgressPolicy::none: break;
    }
  }
  if (settings.offered.empty()) description += " This server offers none.";
  return {{"type", "string"}, {"enum", names}, {"default", "none"}, {"description", description}};
}

}  // namespace

mcp::ToolDefinition run_code_definition(const Services& services) {
  const auto& limits = services.run_limits;
  std::ostringstream description;
  description << "Run a program in a fresh, isolated container (" << limits.cpus << " CPU, " << limits.memory_mb
              << " MiB memory, " << limits.timeout_seconds
              << " s limit, no network unless allowed, non-root). The conversation's files are in /data (the "
                 "working directory) and persist across runs of the same conversationId; anything written there "
                 "comes back as a download URL, and images (PNG, JPEG, GIF, WebP) are shown inline. Python has "
                 "numpy, pandas, scipy, scikit-learn, matplotlib and seaborn. Compiled languages (C, C++, Go, Rust, Java) "
                 "are compiled and run in the same call; a compile error comes back as stderr and a non-zero exit. "
                 "Use list_runners for the languages available and their limits.";
  json input = {
      {"type", "object"},
      {"properties",
       {{"conversationId", conversation_id_schema()},
        {"language", {{"type", "string"}, {"description", "A language from list_runners (python, javascript, typescript, bash, c, cpp, go, rust, "
                          "java, ruby, php, r, lua, perl where installed) or an alias"}}},
        {"code", {{"type", "string"}, {"description", "The program's source code"}}},
        {"timeoutSeconds",
         {{"type", "integer"},
          {"minimum", 1},
          {"maximum", std::max(limits.timeout_seconds, limits.max_timeout_seconds)},
          {"description", "Kill the program after this many seconds (default and maximum: the runner's limit, "
                          "see list_runners)"}}},
        {"stdin", {{"type", "string"}, {"description", "Text given to the program on standard input"}}},
        {"environment",
         {{"type", "object"},
          {"additionalProperties", {{"type", "string"}}},
          {"description", "Environment variables for the program"}}},
        {"egress", egress_schema(services.executor.egress())},
        {"dependencies",
         {{"type", "array"},
          {"items", {{"type", "string"}, {"maxLength", runner::kMaxDependencyLength}}},
          {"maxItems", runner::kMaxDependencies},
          {"description",
           services.executor.egress().offers(runner::EgressPolicy::packages)
               ? "Packages to install into the conversation before the program runs, with the language's own "
                 "installer (Python: pip specs such as \"requests==2.31\"; JavaScript: npm names such as "
                 "\"left-pad@1.3.0\"). Installed once per conversation and found by later runs; the install "
                 "shares the run's time limit and the conversation's storage; its output is reported apart "
                 "(install). list_runners says which runners install."
               : "Packages to install first; this server does not offer package installation"}}},
        {"network",
         {{"type", "boolean"},
          {"description", services.executor.egress().offers(runner::EgressPolicy::open)
                              ? "The older spelling of egress \"open\""
                              : "Network access; disabled by this server's policy"}}}}},
      {"required", {"language", "code"}},
  };
  json file = {{"type", "object"},
               {"properties",
                {{"name", {{"type", "string"}}},
                 {"size", {{"type", "integer"}}},
                 {"mimeType", {{"type", "string"}}},
                 {"url", {{"type", "string"}}}}},
               {"required", {"name", "size", "mimeType", "url"}}};
  json output = {{"type", "object"},
                 {"properties",
                  {{"conversationId", {{"type", "string"}}},
                   {"language", {{"type", "string"}}},
                   {"exitCode", {{"type", "integer"}}},
                   {"stdout", {{"type", "string"}}},
                   {"stderr", {{"type", "string"}}},
                   {"timedOut", {{"type", "boolean"}}},
                   {"oomKilled", {{"type", "boolean"}}},
                   {"truncated", {{"type", "boolean"}}},
                   {"durationMs", {{"type", "integer"}}},
                   {"files", {{"type", "array"}, {"items", file}}},
                   {"filesTruncated", {{"type", "boolean"}}},
                   {"storage", storage_schema()},
                   {"install",
                    {{"type", "object"},
                     {"description", "The dependencies: cached, or the installer's run"},
                     {"properties",
                      {{"packages", {{"type", "array"}, {"items", {{"type", "string"}}}}},
                       {"cached", {{"type", "boolean"}}},
                       {"exitCode", {{"type", "integer"}}},
                       {"timedOut", {{"type", "boolean"}}},
                       {"oomKilled", {{"type", "boolean"}}},
                       {"durationMs", {{"type", "integer"}}},
                       {"stdout", {{"type", "string"}}},
                       {"stderr", {{"type", "string"}}}}},
                     {"required", {"packages", "cached"}}}}}},
                 {"required",
                  {"conversationId", "exitCode", "stdout", "stderr", "timedOut", "oomKilled", "truncated",
                   "durationMs", "files"}}};
  return mcp::ToolDefinition{
      "run_code", "Run code", description.str(), input, output,
      json{{"title", "Run code"}, {"readOnlyHint", false}, {"destructiveHint", true},
           {"idempotentHint", false}, {"openWorldHint", !services.executor.egress().offered.empty()}}};
}

mcp::ToolHandler run_code_handler(Services& services) {
  const auto& limits = services.result_limits;
  runner::CodeRunEvents events{
      [&metrics = services.metrics] { metrics.run_started(); },
      [&metrics = services.metrics](std::string_view language, std::string_view outcome, double seconds) {
        metrics.run_finished(language, outcome, seconds);
      },
      [&metrics = services.metrics] { metrics.storage_full(); },
      [&metrics = services.metrics](std::string_view language, std::string_view result) {
        metrics.package_install(language, result);
      }};
  runner::CodeRun code_run(services.executor, services.admission, services.catalog, services.workspaces,
                           runner::CodeRunLimits{limits.max_listed_files,
                                                 static_cast<std::size_t>(std::max(limits.max_inline_images, 0)),
                                                 limits.inline_image_bytes},
                           std::move(events), services.new_conversations);
  return [&services, code_run = std::move(code_run)](const json& arguments,
                                                     mcp::ToolContext& context) -> core::Result<json> {
    auto call = parse_call(arguments, context, services);
    if (!call) return core::fail(call.error());
    const int timeout_seconds =
        limits_for_language(services, call->request.language).timeout_for(call->request.timeout_seconds);
    call->request.on_progress = [&context, timeout_seconds](std::chrono::milliseconds elapsed) {
      const double seconds = static_cast<double>(elapsed.count()) / 1000.0;
      context.progress(seconds, static_cast<double>(timeout_seconds),
                       "running for " + std::to_string(static_cast<int>(seconds)) + " s");
    };
    auto ran = code_run.run(call->request, [&context, timeout_seconds](const runner::AdmissionCounts& counts) {
      context.progress(0, static_cast<double>(timeout_seconds),
                       "waiting for a free run slot (" + std::to_string(counts.running) + " running, " +
                           std::to_string(counts.queued) + " queued)");
    });
    // A new conversation's pooled container was used (or missed): its refill starts now, off this run.
    if (services.new_conversations != nullptr) services.new_conversations->run_ended();
    if (!ran) return core::fail(ran.error());
    std::vector<std::string> changed;
    bool list_changed = !ran->removed.empty();
    for (const auto& file : ran->files) {
      if (file.changed) changed.push_back(file.path);
      list_changed = list_changed || file.added;
    }
    changed.insert(changed.end(), ran->removed.begin(), ran->removed.end());
    announce_changes(services, context, call->conversation, changed, list_changed);
    return present(*ran, call->conversation, services, timeout_seconds);
  };
}

}  // namespace tools
