#include "tools/run_code.hpp"

#include <spdlog/spdlog.h>

#include <map>
#include <sstream>

#include "core/encoding.hpp"
#include "runner/outcome_json.hpp"
#include "sandbox/paths.hpp"
#include "tools/common.hpp"

namespace tools {
namespace {

using Snapshot = std::map<std::string, std::pair<std::int64_t, std::int64_t>>;  // path -> (size, mtime)

Snapshot snapshot(const sandbox::Listing& listing) {
  Snapshot files;
  for (const auto& entry : listing.entries) {
    if (entry.type == sandbox::FileInfo::Type::file) files[entry.path] = {entry.size, entry.mtime_ns};
  }
  return files;
}

std::string outcome_name(const runner::RunOutcome& outcome) {
  if (outcome.timed_out) return "timeout";
  if (outcome.oom_killed) return "oom";
  return outcome.exit_code == 0 ? "ok" : "failed";
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

}  // namespace

mcp::ToolDefinition run_code_definition(const Services& services) {
  const auto& limits = services.run_limits;
  std::ostringstream description;
  description << "Run a program in a fresh, isolated container (" << limits.cpus << " CPU, " << limits.memory_mb
              << " MiB memory, " << limits.timeout_seconds
              << " s limit, no network unless allowed, non-root). The conversation's files are in /data (the "
                 "working directory) and persist across runs of the same conversationId; anything written there "
                 "comes back as a download URL, and images (PNG, JPEG, GIF, WebP) are shown inline. Python has "
                 "numpy, pandas and matplotlib. Use list_runners for the languages available.";
  json input = {
      {"type", "object"},
      {"properties",
       {{"conversationId", conversation_id_schema()},
        {"language", {{"type", "string"}, {"description", "python, typescript, javascript, bash (or an alias)"}}},
        {"code", {{"type", "string"}, {"description", "The program's source code"}}},
        {"timeoutSeconds",
         {{"type", "integer"},
          {"minimum", 1},
          {"maximum", limits.timeout_seconds},
          {"description", "Kill the program after this many seconds (default and maximum: the server's limit)"}}},
        {"stdin", {{"type", "string"}, {"description", "Text given to the program on standard input"}}},
        {"environment",
         {{"type", "object"},
          {"additionalProperties", {{"type", "string"}}},
          {"description", "Environment variables for the program"}}},
        {"network",
         {{"type", "boolean"},
          {"description", services.allow_network ? "Give the program network access"
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
                   {"storage", storage_schema()}}},
                 {"required",
                  {"conversationId", "exitCode", "stdout", "stderr", "timedOut", "oomKilled", "truncated",
                   "durationMs", "files"}}};
  return mcp::ToolDefinition{
      "run_code", "Run code", description.str(), input, output,
      json{{"title", "Run code"}, {"readOnlyHint", false}, {"destructiveHint", true},
           {"idempotentHint", false}, {"openWorldHint", services.allow_network}}};
}

mcp::ToolHandler run_code_handler(Services& services) {
  return [&services](const json& arguments, mcp::ToolContext& context) -> core::Result<json> {
    const Arguments args(arguments);
    auto language = args.required_string("language");
    auto code = args.required_string("code");
    auto timeout = args.optional_int("timeoutSeconds");
    auto stdin_text = args.optional_string("stdin");
    auto environment = args.optional_string_map("environment");
    auto network = args.optional_bool("network");
    for (const core::Error* error :
         {language ? nullptr : &language.error(), code ? nullptr : &code.error(), timeout ? nullptr : &timeout.error(),
          stdin_text ? nullptr : &stdin_text.error(), environment ? nullptr : &environment.error(),
          network ? nullptr : &network.error()}) {
      if (error != nullptr) return core::fail(*error);
    }
    auto conversation = resolve_conversation(args, context, services);
    if (!conversation) return core::fail(conversation.error());
    const int timeout_seconds = services.run_limits.timeout_for(*timeout);
    // The slot is held from before the first scan of /data to after the last, so runs of one
    // conversation never overlap, and no more containers exist than the server allows.
    auto slot = services.admission.acquire(
        conversation->workspace.name, context.cancelled,
        [&context, timeout_seconds](const runner::AdmissionCounts& counts) {
          context.progress(0, static_cast<double>(timeout_seconds),
                           "waiting for a free run slot (" + std::to_string(counts.running) + " running, " +
                               std::to_string(counts.queued) + " queued)");
        });
    if (!slot) {
      spdlog::info("run in {} not admitted: {}", conversation->workspace.name.substr(0, 8), slot.error().message);
      return core::fail(slot.error());
    }
    const sandbox::SandboxFiles files(conversation->workspace.server_path);
    const sandbox::ScanLimits scan_limits{2000, 16};
    auto before = files.list("", true, scan_limits);

    runner::RunRequest request;
    request.language = *language;
    request.code = *code;
    request.stdin_data = stdin_text->value_or("");
    request.timeout_seconds = *timeout;
    request.environment = run_environment(services, conversation->workspace);
    request.environment.insert(environment->begin(), environment->end());
    request.network = network->value_or(false);
    request.workspace = conversation->workspace;
    request.cancel = context.cancelled;
    request.on_progress = [&context, timeout_seconds](std::chrono::milliseconds elapsed) {
      const double seconds = static_cast<double>(elapsed.count()) / 1000.0;
      context.progress(seconds, static_cast<double>(timeout_seconds),
                       "running for " + std::to_string(static_cast<int>(seconds)) + " s");
    };

    services.metrics.run_started();
    const auto started = std::chrono::steady_clock::now();
    auto outcome = services.executor.run(request);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (!outcome) {
      const bool cancelled = context.cancelled.stop_requested();
      services.metrics.run_finished(*language, cancelled ? "cancelled" : "error", seconds);
      spdlog::warn("run in {} could not happen ({}): {}", conversation->workspace.name.substr(0, 8),
                   core::to_string(outcome.error().kind), outcome.error().message);
      return core::fail(outcome.error().kind, "The run could not happen: " + outcome.error().message);
    }
    services.metrics.run_finished(outcome->language, outcome_name(*outcome), seconds);
    spdlog::info("run {} conversation {} language {} outcome {} exit {} {} ms", outcome->run_id,
                 conversation->workspace.name.substr(0, 8), outcome->language, outcome_name(*outcome),
                 outcome->exit_code, outcome->duration.count());

    // Files now in /data, and the images that are new or changed since before the run.
    const auto previous = before ? snapshot(*before) : Snapshot{};
    auto after = files.list("", true, scan_limits);
    json file_list = json::array();
    json images = json::array();
    bool files_truncated = !after || after->truncated;
    const auto& limits = services.result_limits;
    if (after) {
      for (const auto& entry : after->entries) {
        if (entry.type != sandbox::FileInfo::Type::file) continue;
        if (file_list.size() >= limits.max_listed_files) {
          files_truncated = true;
          break;
        }
        file_list.push_back(file_entry(services, conversation->workspace, entry.path, entry.size));
        const auto mime = sandbox::mime_type_for(entry.path);
        const auto old = previous.find(entry.path);
        const bool changed = old == previous.end() || old->second != std::make_pair(entry.size, entry.mtime_ns);
        if (changed && sandbox::is_inline_image(mime) && entry.size <= limits.inline_image_bytes &&
            static_cast<int>(images.size()) < limits.max_inline_images) {
          if (auto bytes = files.read(entry.path, static_cast<std::size_t>(limits.inline_image_bytes))) {
            images.push_back({{"type", "image"}, {"data", core::base64_encode(*bytes)}, {"mimeType", mime}});
          }
        }
      }
    }

    // A program that filled its volume sees ENOSPC in its own stderr at best; say it plainly.
    const auto usage = services.workspaces.usage(conversation->workspace);
    const auto full_note = storage_full_note(usage);
    if (!full_note.empty()) services.metrics.storage_full();
    std::ostringstream text;
    text << verdict(*outcome, services.run_limits, timeout_seconds);
    if (!full_note.empty()) text << "\n" << full_note;
    append_stream(text, "stdout", outcome->stdout_data);
    append_stream(text, "stderr", outcome->stderr_data);
    if (!file_list.empty()) {
      text << "\n\n--- files in /data (conversationId " << conversation->id << ") ---";
      for (const auto& file : file_list) {
        text << "\n" << file["name"].get<std::string>() << " (" << file["size"].get<std::int64_t>() << " bytes): "
             << file["url"].get<std::string>();
      }
    }
    json structured = runner::outcome_to_json(*outcome);
    structured["conversationId"] = conversation->id;
    structured["files"] = file_list;
    structured["filesTruncated"] = files_truncated;
    structured["storage"] = storage_json(usage);
    json result = success(text.str(), std::move(structured));
    for (auto& image : images) result["content"].push_back(std::move(image));
    result["isError"] = !outcome->succeeded();
    return result;
  };
}

}  // namespace tools
