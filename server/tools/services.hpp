#pragma once

#include <cstdint>
#include <string>

#include "config/config.hpp"
#include "mcp/resources.hpp"
#include "metrics/metrics.hpp"
#include "runner/admission.hpp"
#include "runner/executor.hpp"
#include "runner/new_conversation_pool.hpp"
#include "runner/registry.hpp"
#include "sandbox/url_signer.hpp"
#include "sandbox/workspace.hpp"

namespace tools {

class ActiveConversations;

/// Caps on what tool results carry, so one answer never floods a model's context.
struct ResultLimits {
  std::int64_t inline_image_bytes = 2 * 1024 * 1024;  ///< per image returned inline
  int max_inline_images = 4;
  std::int64_t read_file_bytes = 1024 * 1024;
  std::size_t max_listed_files = 200;
  /// resources/read returns files up to this size (base64 makes the message a third larger); larger
  /// ones are refused with their download URL.
  std::int64_t resource_read_bytes = 4 * 1024 * 1024;
  std::size_t resource_page_size = 100;        ///< resources per resources/list page
  std::size_t max_listed_conversations = 20;   ///< a caller's newest active conversations resources/list looks at
};

/// What the tools need from the rest of the server; owned by main.
struct Services {
  runner::Executor& executor;
  runner::Admission& admission;  ///< every run_code waits here for a slot before it reaches the executor
  runner::RunnerCatalog& catalog;
  sandbox::Workspaces& workspaces;
  sandbox::UrlSigner& signer;
  metrics::Metrics& metrics;
  config::RunLimits run_limits;
  std::string public_base_url;
  ResultLimits result_limits;
  /// Where file changes made by tools are announced (resource notifications); null: nowhere.
  mcp::ResourceEvents* resource_events = nullptr;
  /// The conversations used lately, by key (what resources/list can name); null: none remembered.
  ActiveConversations* active = nullptr;
  /// Started containers for new conversations; null when off.
  runner::NewConversationPool* new_conversations = nullptr;
};

}  // namespace tools
