#include "tools/tools.hpp"

#include "tools/common.hpp"
#include "tools/file_tools.hpp"
#include <sstream>

#include "runner/package_install.hpp"
#include "runner/runner_limits.hpp"
#include "runner/runtime_share.hpp"
#include "tools/run_code.hpp"

namespace tools {
namespace {

mcp::ToolDefinition list_runners_definition() {
  json runner = {{"type", "object"},
                 {"properties",
                  {{"language", {{"type", "string"}}},
                   {"aliases", {{"type", "array"}, {"items", {{"type", "string"}}}}},
                   {"image", {{"type", "string"}}},
                   {"version", {{"type", "string"}}},
                   {"compiled", {{"type", "boolean"}}},
                   {"limits", {{"type", "object"}}}}},
                 {"required", {"language", "aliases", "image", "version", "compiled", "limits"}}};
  return {"list_runners",
          "List runners",
          "List the languages run_code can run, with their versions and the limits every run gets.",
          json{{"type", "object"}, {"properties", json::object()}},
          json{{"type", "object"},
               {"properties", {{"runners", {{"type", "array"}, {"items", runner}}}, {"limits", {{"type", "object"}}}}},
               {"required", {"runners", "limits"}}},
          json{{"title", "List runners"}, {"readOnlyHint", true}, {"idempotentHint", true}, {"openWorldHint", false}}};
}

mcp::ToolHandler list_runners_handler(Services& services) {
  return [&services](const json&, mcp::ToolContext&) -> core::Result<json> {
    auto registry = services.catalog.current();
    json runners = json::array();
    std::string text = "Languages:";
    for (const auto& runner : registry->runners()) {
      // The egress policies a run of this runner may ask for: packages only where registries are known.
      const auto& egress = services.executor.egress();
      json policies = json::array({"none"});
      for (const auto policy : egress.offered) {
        if (policy == runner::EgressPolicy::packages && runner::package_hosts(egress, runner.manifest).empty()) continue;
        policies.push_back(std::string(runner::to_string(policy)));
      }
      const auto own = runner::limits_for(runner.manifest, services.run_limits);
      runners.push_back({{"language", runner.manifest.language},
                         {"aliases", runner.manifest.aliases},
                         {"image", runner.manifest.image},
                         {"version", runner.version},
                         {"compiled", runner.manifest.compiles()},
                         {"limits", {{"cpus", own.cpus}, {"memoryMb", own.memory_mb}, {"timeoutSeconds", own.timeout_seconds}}},
                         {"egress", policies},
                         // Whether run_code's `dependencies` work for this runner on this server.
                         {"installsDependencies",
                          runner.manifest.packages.present() &&
                              runner::packages_reachable(egress, runner.manifest).has_value()}});
      text += "\n- " + runner.manifest.language + " (" + runner.version + ")";
      if (!runner.manifest.aliases.empty()) {
        text += ", also";
        for (const auto& alias : runner.manifest.aliases) text += " " + alias;
      }
      if (own.cpus != services.run_limits.cpus || own.memory_mb != services.run_limits.memory_mb ||
          own.timeout_seconds != services.run_limits.timeout_seconds) {
        std::ostringstream own_text;
        own_text << "; its own limits: " << own.cpus << " CPU, " << own.memory_mb << " MiB, " << own.timeout_seconds
                 << " s";
        text += own_text.str();
      }
    }
    const auto& limits = services.run_limits;
    json limit_json = {{"cpus", limits.cpus},
                       {"memoryMb", limits.memory_mb},
                       {"timeoutSeconds", limits.timeout_seconds},
                       {"outputBytesPerStream", limits.output_bytes},
                       {"maxCodeBytes", limits.code_bytes},
                       {"pids", limits.pids},
                       {"tmpMb", limits.tmp_mb},
                       {"buildMb", limits.build_mb},
                       {"runnerMaxima",
                        {{"cpus", limits.max_cpus},
                         {"memoryMb", limits.max_memory_mb},
                         {"timeoutSeconds", limits.max_timeout_seconds}}},
                       {"networkAllowed", services.executor.egress().offers(runner::EgressPolicy::open)},
                       {"runtime", services.executor.runtime().empty() ? "default" : services.executor.runtime()}};
    // Under gVisor its own kernel is charged to the run: say what the program gets.
    const auto share = runner::runtime_share(services.executor.runtime());
    if (share) {
      limit_json["runtimeShare"] = {
          {"memoryMb", share->memory_mb}, {"pids", share->pids}, {"pidsPerThread", share->pids_per_thread}};
      limit_json["programGets"] = {{"memoryMb", limits.memory_mb - share->memory_mb},
                                   {"threads", runner::program_threads(*share, limits.pids)}};
    }
    text += "\nLimits per run: " + limit_json.dump();
    std::string offered = "none";
    for (const auto policy : services.executor.egress().offered) offered += ", " + std::string(runner::to_string(policy));
    text += "\nEgress policies (run_code's egress): " + offered + "; each runner's list says which apply to it.";
    if (share) {
      text += "\nThe runtime " + services.executor.runtime() + " is charged to these limits: a program gets about " +
              std::to_string(limits.memory_mb - share->memory_mb) + " MiB and at most about " +
              std::to_string(runner::program_threads(*share, limits.pids)) + " threads and processes in all.";
    }
    return success(text, {{"runners", runners}, {"limits", limit_json}});
  };
}

}  // namespace

void register_tools(mcp::ToolRegistry& registry, Services& services) {
  registry.add(run_code_definition(services), run_code_handler(services));
  registry.add(upload_file_definition(), upload_file_handler(services));
  registry.add(list_files_definition(), list_files_handler(services));
  registry.add(read_file_definition(), read_file_handler(services));
  registry.add(delete_file_definition(), delete_file_handler(services));
  registry.add(list_runners_definition(), list_runners_handler(services));
}

}  // namespace tools
