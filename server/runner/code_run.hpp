#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "runner/admission.hpp"
#include "runner/executor.hpp"
#include "runner/new_conversation_pool.hpp"
#include "runner/package_install.hpp"
#include "runner/registry.hpp"
#include "runner/run.hpp"
#include "sandbox/quota_volume.hpp"
#include "sandbox/workspace.hpp"

namespace runner {

/// A regular file in the conversation's /data after a run.
struct RunFile {
  std::string path;  ///< relative to /data
  std::int64_t size = 0;
  bool changed = false;  ///< new, or its size or modification time differs from before the run
  bool added = false;    ///< not there before the run
};

/// An image the run made or changed, with its bytes, for a surface to show.
struct RunImage {
  std::string path;
  std::string mime_type;
  std::string bytes;
};

/// Caps on what a CodeRunResult carries, so one answer never floods a model's context.
struct CodeRunLimits {
  std::size_t max_files = 200;                          ///< files listed
  std::size_t max_images = 4;                           ///< images returned with their bytes
  std::int64_t max_image_bytes = 2 * 1024 * 1024;       ///< per image; larger ones are only listed
};

/// Everything a run of one conversation produced, for a surface (the run_code tool) to present.
struct CodeRunResult {
  RunOutcome outcome;
  std::vector<RunFile> files;  ///< regular files in /data after the run, by path; at most max_files
  bool files_truncated = false;  ///< there were more (or /data could not be listed completely)
  /// Images (PNG, JPEG, GIF, WebP) among `files` that are new or changed since before the run.
  std::vector<RunImage> images;
  /// Files there before the run and gone after it (only when both scans were complete).
  std::vector<std::string> removed;
  std::optional<sandbox::VolumeUsage> usage;  ///< the volume after the run; nullopt without a quota
  /// The call's dependencies, when it named any. When they could not be installed the program
  /// did not run: `outcome` then holds only the language, and nothing else is set.
  std::optional<InstallReport> install;
};

/// What a code run reports, for metrics. `language` is always a runner's canonical name or
/// "unknown", never a caller's spelling, so a label fed from it has a bounded set of values.
struct CodeRunEvents {
  std::function<void()> started;
  /// `outcome`: ok, failed, timeout, oom (the program ran), install_failed (its dependencies could
  /// not be installed, so it did not run), cancelled or error (it could not run).
  std::function<void(std::string_view language, std::string_view outcome, double seconds)> finished;
  /// The conversation's volume was full after the run.
  std::function<void()> storage_full;
  /// A call's dependencies were `result`: installed, cached (nothing ran) or failed.
  std::function<void(std::string_view language, std::string_view result)> installed;
};

/// One run of a conversation's code, protocol aside: waits for an admission slot (so runs of a
/// conversation never overlap), notes what /data holds, runs the program, and collects what is in
/// /data afterwards, the images it made or changed and how full the volume is, all before the slot
/// is given back. Logs one line per run and reports it to `events`. Thread-safe: every part it
/// uses is, and it keeps no state of its own.
class CodeRun {
 public:
  /// All parts must outlive the CodeRun.
  /// `lender`, when not null, lends a started container to a run whose conversation's next one is
  /// not ready, when the executor can attach directories (Executor::lends_pooled).
  CodeRun(Executor& executor, Admission& admission, const RunnerCatalog& catalog,
          const sandbox::Workspaces& workspaces, CodeRunLimits limits, CodeRunEvents events,
          NewConversationPool* lender = nullptr);

  /// Runs `request` in its workspace. `on_queued` is called once when the run has to wait for a
  /// slot. Errors are sentences for whoever asked: refused by admission (busy, cancelled while
  /// queued) as admission says, or "The run could not happen: ..." (bad request, unknown language,
  /// engine trouble). A program that fails is a result, not an error.
  core::Result<CodeRunResult> run(const RunRequest& request,
                                  const std::function<void(const AdmissionCounts&)>& on_queued = {}) const;

  /// The label for a requested language (a name or an alias): its runner's name, or "unknown".
  [[nodiscard]] std::string language_label(std::string_view language) const;

 private:
  /// Installs request.dependencies first (package_install.hpp); `program` gets the request the
  /// program then runs with: no dependencies, and what is left of the deadline.
  core::Result<InstallReport> install(const RunRequest& request, RunRequest& program) const;

  Executor& m_executor;
  Admission& m_admission;
  const RunnerCatalog& m_catalog;
  const sandbox::Workspaces& m_workspaces;
  CodeRunLimits m_limits;
  CodeRunEvents m_events;
  NewConversationPool* m_lender;
};

/// The outcome's name for logs and metrics: ok, failed, timeout or oom.
std::string_view outcome_name(const RunOutcome& outcome);

}  // namespace runner
