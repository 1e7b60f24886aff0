#include "runner/code_run.hpp"

#include <set>

#include <spdlog/spdlog.h>

#include <chrono>
#include <map>
#include <utility>

#include "core/encoding.hpp"
#include "runner/package_install.hpp"
#include "sandbox/data_attach.hpp"
#include "sandbox/files.hpp"
#include "sandbox/paths.hpp"

namespace runner {
namespace {

// Bounds on the scans of /data before and after a run: a run controls that tree. Installed
// packages are not the program's files.
const sandbox::ScanLimits kScanLimits{2000, 16};

using Snapshot = std::map<std::string, std::pair<std::int64_t, std::int64_t>>;  // path -> (size, mtime)

Snapshot snapshot(const sandbox::Listing& listing) {
  Snapshot files;
  for (const auto& entry : listing.entries) {
    if (entry.type == sandbox::FileInfo::Type::file) files[entry.path] = {entry.size, entry.mtime_ns};
  }
  return files;
}

// The first 8 characters of a conversation's directory name: enough to follow it through the logs.
std::string_view short_name(const sandbox::Workspace& workspace) {
  return std::string_view(workspace.name).substr(0, 8);
}

// A started container lent by the new-conversation pool to one run of an existing conversation:
// the conversation's directory is attached on the container's /data until the run has ended, then
// detached, and the pooled directory is removed (its container went with the run).
class LentContainer {
 public:
  // Nullopt when there is nothing to lend or the directory cannot be attached (the run then
  // claims the conversation's own container, or starts one, as without a lender).
  static std::optional<LentContainer> borrow(NewConversationPool& pool, const RunRequest& program) {
    auto pooled = pool.lend(program.language);
    if (!pooled) return std::nullopt;
    auto attached = sandbox::AttachedDirectory::attach(program.workspace.server_path, pooled->server_path);
    if (!attached) {
      spdlog::warn("{}", attached.error().message);
      pool.give_up(*pooled);
      return std::nullopt;
    }
    return LentContainer(pool, std::move(*pooled), std::move(*attached), program);
  }

  LentContainer(LentContainer&& other) noexcept
      : request(std::move(other.request)),
        m_pool(other.m_pool),
        m_pooled(std::exchange(other.m_pooled, std::nullopt)),
        m_attached(std::move(other.m_attached)) {}
  LentContainer& operator=(LentContainer&&) = delete;
  LentContainer(const LentContainer&) = delete;
  LentContainer& operator=(const LentContainer&) = delete;

  ~LentContainer() {
    if (!m_pooled) return;  // moved from
    // Detached first: the removal must find nothing but the pooled directory's own (empty) files.
    // Should the unmount fail, the removal unmounts what is mounted there before it deletes anything.
    if (auto detached = m_attached.detach(); !detached) spdlog::error("{}", detached.error().message);
    request.borrowed.reset();
    m_pool->give_up(*m_pooled);
  }

  RunRequest request;  ///< the program's request, taking the lent container

 private:
  LentContainer(NewConversationPool& pool, sandbox::Workspace pooled, sandbox::AttachedDirectory attached,
                const RunRequest& program)
      : request(program), m_pool(&pool), m_pooled(std::move(pooled)), m_attached(std::move(attached)) {
    request.borrowed = *m_pooled;
  }

  NewConversationPool* m_pool;
  std::optional<sandbox::Workspace> m_pooled;
  sandbox::AttachedDirectory m_attached;
};

}  // namespace

std::string_view outcome_name(const RunOutcome& outcome) {
  if (outcome.timed_out) return "timeout";
  if (outcome.oom_killed) return "oom";
  return outcome.exit_code == 0 ? "ok" : "failed";
}

CodeRun::CodeRun(Executor& executor, Admission& admission, const RunnerCatalog& catalog,
                 const sandbox::Workspaces& workspaces, CodeRunLimits limits, CodeRunEvents events,
                 NewConversationPool* lender)
    : m_executor(executor),
      m_admission(admission),
      m_catalog(catalog),
      m_workspaces(workspaces),
      m_limits(limits),
      m_events(std::move(events)),
      m_lender(lender) {}

core::Result<InstallReport> CodeRun::install(const RunRequest& request, RunRequest& program) const {
  const Runner* runner = m_catalog.current()->find(request.language);
  if (runner == nullptr) return core::fail(core::ErrorKind::invalid_argument, "unknown language " + request.language);
  // One deadline for both: what the install takes, the program does not get.
  const int deadline = m_executor.timeout_seconds(runner->manifest, request.timeout_seconds);
  const auto started = std::chrono::steady_clock::now();
  auto report = install_dependencies(m_executor, runner->manifest, request, deadline);
  if (!report) return report;
  if (m_events.installed) {
    m_events.installed(runner->manifest.language,
                       report->cached ? "cached" : (report->succeeded() ? "installed" : "failed"));
  }
  const auto spent = std::chrono::ceil<std::chrono::seconds>(std::chrono::steady_clock::now() - started);
  program = request;
  program.dependencies.clear();
  program.timeout_seconds = deadline - static_cast<int>(spent.count());
  if (report->succeeded() && *program.timeout_seconds < 1) {
    // Installed, but nothing of the deadline is left for the program: a timeout, as a run's.
    RunOutcome out_of_time = report->outcome.value_or(RunOutcome{});
    out_of_time.timed_out = true;
    report->outcome = out_of_time;
    report->cached = false;
  }
  return report;
}

std::string CodeRun::language_label(std::string_view language) const {
  const Runner* runner = m_catalog.current()->find(language);
  return runner != nullptr ? runner->manifest.language : "unknown";
}

core::Result<CodeRunResult> CodeRun::run(const RunRequest& request,
                                         const std::function<void(const AdmissionCounts&)>& on_queued) const {
  const auto& workspace = request.workspace;
  // The slot is held from before the first scan of /data to after the last, so runs of one
  // conversation never overlap, and no more containers exist than the server allows.
  auto slot = m_admission.acquire(workspace.name, request.cancel, on_queued);
  if (!slot) {
    spdlog::info("run in {} not admitted: {}", short_name(workspace), slot.error().message);
    return core::fail(slot.error());
  }
  if (m_events.started) m_events.started();
  const auto started = std::chrono::steady_clock::now();
  CodeRunResult result;
  const RunRequest* program = &request;
  RunRequest after_install;
  if (!request.dependencies.empty()) {
    auto installed = install(request, after_install);
    if (!installed) {
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      if (m_events.finished) {
        m_events.finished(language_label(request.language), request.cancel.stop_requested() ? "cancelled" : "error",
                          seconds);
      }
      spdlog::warn("run in {} could not install its dependencies: {}", short_name(workspace),
                   core::printable(installed.error().message));
      return core::fail(installed.error().kind, "The run could not happen: " + installed.error().message);
    }
    result.install = std::move(*installed);
    if (!result.install->succeeded()) {
      // The program is not run without what it asked for; the installer's own words say why.
      const auto& failed = *result.install->outcome;
      if (m_events.finished) {
        m_events.finished(failed.language, "install_failed",
                          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      }
      spdlog::info("run {} conversation {} language {}: install failed (exit {})", failed.run_id, short_name(workspace),
                   failed.language, failed.exit_code);
      result.outcome.language = failed.language;
      return result;
    }
    program = &after_install;
  }

  const sandbox::SandboxFiles files(workspace.server_path);
  const auto before = files.list("", true, kScanLimits, kPackagesFolder);
  // A call sent right after the previous answer finds the conversation's next container still
  // starting (a start takes longer than most programs run): a started one waiting for new
  // conversations is lent instead. Only to a run such a container fits: no network or egress, no
  // environment of the caller's, not the installer.
  const bool may_borrow = m_lender != nullptr && m_executor.lends_pooled() && !program->network &&
                          program->egress == EgressPolicy::none && program->environment.empty() &&
                          program->command.empty() && !workspace.ephemeral && !m_executor.warm_ready(workspace.name);
  std::optional<LentContainer> lent = may_borrow ? LentContainer::borrow(*m_lender, *program) : std::nullopt;
  auto outcome = m_executor.run(lent ? lent->request : *program);
  lent.reset();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (!outcome) {
    const bool cancelled = request.cancel.stop_requested();
    // Labelled by the runner the caller meant, never by what the caller wrote (a label per string, kept forever).
    if (m_events.finished) m_events.finished(language_label(request.language), cancelled ? "cancelled" : "error", seconds);
    // The message may quote what the caller sent (an unknown language, a variable's name).
    spdlog::warn("run in {} could not happen ({}): {}", short_name(workspace), core::to_string(outcome.error().kind),
                 core::printable(outcome.error().message));
    return core::fail(outcome.error().kind, "The run could not happen: " + outcome.error().message);
  }
  if (m_events.finished) m_events.finished(outcome->language, outcome_name(*outcome), seconds);
  spdlog::info("run {} conversation {} language {} outcome {} exit {} {} ms", outcome->run_id, short_name(workspace),
               outcome->language, outcome_name(*outcome), outcome->exit_code, outcome->duration.count());

  result.outcome = std::move(*outcome);
  const auto previous = before ? snapshot(*before) : Snapshot{};
  const auto after = files.list("", true, kScanLimits, kPackagesFolder);
  result.files_truncated = !after || after->truncated;
  if (after) {
    for (const auto& entry : after->entries) {
      if (entry.type != sandbox::FileInfo::Type::file) continue;
      if (result.files.size() >= m_limits.max_files) {
        result.files_truncated = true;
        break;
      }
      const auto mime = sandbox::mime_type_for(entry.path);
      const auto old = previous.find(entry.path);
      const bool changed = old == previous.end() || old->second != std::make_pair(entry.size, entry.mtime_ns);
      result.files.push_back(RunFile{entry.path, entry.size, changed, old == previous.end()});
      if (changed && sandbox::is_inline_image(mime) && entry.size <= m_limits.max_image_bytes &&
          result.images.size() < m_limits.max_images) {
        if (auto bytes = files.read(entry.path, static_cast<std::size_t>(m_limits.max_image_bytes))) {
          result.images.push_back(RunImage{entry.path, mime, std::move(*bytes)});
        }
      }
    }
  }
  if (before && !before->truncated && after && !after->truncated) {
    std::set<std::string> present;
    for (const auto& entry : after->entries) {
      if (entry.type == sandbox::FileInfo::Type::file) present.insert(entry.path);
    }
    for (const auto& [path, stamp] : previous) {
      if (!present.contains(path)) result.removed.push_back(path);
    }
  }
  // A program that filled its volume sees ENOSPC in its own stderr at best; the caller says it plainly.
  result.usage = m_workspaces.usage(workspace);
  if (result.usage && result.usage->full() && m_events.storage_full) m_events.storage_full();
  return result;
}

}  // namespace runner
