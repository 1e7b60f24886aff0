#include "sandbox/workspace.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <system_error>

#include "core/fd.hpp"
#include "core/random.hpp"
#include "sandbox/hmac.hpp"
#include "sandbox/tree.hpp"

namespace sandbox {
namespace fs = std::filesystem;
using core::ErrorKind;

namespace {

constexpr std::size_t kMaxIdLength = 128;
// 128 bits of the HMAC: short paths, no collisions in practice.
constexpr std::size_t kNameHexDigits = 32;
constexpr std::string_view kEphemeralPrefix = "tmp-";
constexpr std::size_t kEphemeralHexDigits = 24;
constexpr const char* kImages = ".images";
constexpr const char* kLastUse = ".last-use";
constexpr std::string_view kImageSuffix = ".ext4";
constexpr std::string_view kNewImageSuffix = ".ext4.new";

bool allowed_id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == ':' || c == '@' || c == '-';
}

bool is_hex(std::string_view text, std::size_t digits) {
  if (text.size() != digits) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool is_ephemeral_name(std::string_view name) {
  return name.substr(0, kEphemeralPrefix.size()) == kEphemeralPrefix &&
         is_hex(name.substr(kEphemeralPrefix.size()), kEphemeralHexDigits);
}

// Only names we make are ever touched by the sweep; anything else under the root is left alone.
bool is_workspace_name(std::string_view name) { return is_hex(name, kNameHexDigits) || is_ephemeral_name(name); }

std::int64_t system_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The names in `dir` that do not start with a dot (ours: .images, .last-use); none when unreadable.
std::vector<std::string> directory_names(const fs::path& dir) {
  const core::Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  auto names = fd.get() < 0 ? core::Result<std::vector<std::string>>() : entry_names(fd.get());
  if (!names) return {};
  std::erase_if(*names, [](const std::string& name) { return name.front() == '.'; });
  return std::move(*names);
}

bool has_suffix(std::string_view text, std::string_view suffix) {
  return text.size() > suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

}  // namespace

// Shared by every copy of a Workspaces and by the leases it hands out.
struct Workspaces::State {
  fs::path server_root;
  std::string engine_root;
  std::string name_key;
  VolumeLimits quota;
  std::function<std::int64_t()> now;

  // Per conversation: how many holders, and whether one thread is preparing
  // (creating, mounting) or removing it. Entries exist only while either is true.
  struct Entry {
    int users = 0;
    bool busy = false;
  };
  std::mutex mutex;
  std::condition_variable changed;
  std::map<std::string, Entry> entries;

  [[nodiscard]] fs::path image(const std::string& name) const {
    return server_root / kImages / (name + std::string(kImageSuffix));
  }
  [[nodiscard]] fs::path stamp(const std::string& name) const { return server_root / kLastUse / name; }

  // Records a use at the current time, in a file no program can reach.
  void record_use(const std::string& name, bool create) const {
    core::Fd file(::open(stamp(name).c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC | (create ? O_CREAT : 0), 0600));
    if (file.get() < 0) return;
    const timespec when{static_cast<time_t>(now()), 0};
    const timespec times[2] = {when, when};
    ::futimens(file.get(), times);
  }

  // Seconds since the epoch of the last recorded use, or nullopt when none is recorded.
  [[nodiscard]] std::optional<std::int64_t> last_use(const std::string& name) const {
    struct stat info {};
    if (::lstat(stamp(name).c_str(), &info) != 0 || !S_ISREG(info.st_mode)) return std::nullopt;
    return static_cast<std::int64_t>(info.st_mtim.tv_sec);
  }

  // Waits until no other thread prepares or removes `name`, then marks it busy.
  void claim(const std::string& name) {
    std::unique_lock lock(mutex);
    changed.wait(lock, [&] {
      auto found = entries.find(name);
      return found == entries.end() || !found->second.busy;
    });
    entries[name].busy = true;
  }

  // Marks `name` busy only when nobody holds or prepares it (for the sweep).
  bool try_claim_idle(const std::string& name) {
    std::lock_guard lock(mutex);
    auto& entry = entries[name];
    if (entry.busy || entry.users > 0) return false;
    entry.busy = true;
    return true;
  }

  // Ends a claim; `add_user` turns it into one more holder.
  void finish(const std::string& name, bool add_user) {
    std::lock_guard lock(mutex);
    auto& entry = entries[name];
    entry.busy = false;
    if (add_user) ++entry.users;
    if (entry.users == 0) entries.erase(name);
    changed.notify_all();
  }

  void release(const std::string& name) {
    {
      std::lock_guard lock(mutex);
      auto& entry = entries[name];
      if (--entry.users <= 0 && !entry.busy) entries.erase(name);
      changed.notify_all();
    }
    record_use(name, false);
  }

  core::Result<void> ensure_mounted(const std::string& name, const fs::path& dir) const {
    auto mounted = is_mount_point(dir);
    if (!mounted) return core::fail(mounted.error());
    if (*mounted) return {};  // mounted before (this process, or one before a restart)
    const auto image_path = image(name);
    const bool fresh = !fs::exists(image_path);
    if (fresh) {
      // Made under another name and renamed when complete, so a crash never leaves a half-made image.
      auto partial = image_path;
      partial += ".new";
      if (auto made = create_volume_image(partial, quota, kRunnerUid, kRunnerGid); !made) return made;
      if (::rename(partial.c_str(), image_path.c_str()) != 0) {
        return core::fail(ErrorKind::unavailable, "cannot create " + image_path.string() + ": " + std::strerror(errno));
      }
    }
    if (auto done = mount_volume(image_path, dir); !done) return done;
    // mkfs makes lost+found (root's, unreadable); a conversation's /data starts empty.
    if (fresh) ::rmdir((dir / "lost+found").c_str());
    return {};
  }

  core::Result<void> prepare(const Workspace& workspace, bool create) const {
    const auto& path = workspace.server_path;
    if (create && ::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
      return core::fail(ErrorKind::unavailable, "cannot create " + path.string() + ": " + std::strerror(errno));
    }
    // The directory must be a real directory we made, never a link planted by a run.
    struct stat info {};
    if (::lstat(path.c_str(), &info) != 0) {
      if (errno == ENOENT && !create) return core::fail(ErrorKind::not_found, "no such conversation");
      return core::fail(ErrorKind::unavailable, "cannot open " + path.string() + ": " + std::strerror(errno));
    }
    if (!S_ISDIR(info.st_mode)) {
      return core::fail(ErrorKind::internal, "sandbox entry " + workspace.name + " is not a directory");
    }
    if (quota.enabled()) {
      if (auto mounted = ensure_mounted(workspace.name, path); !mounted) return mounted;
      if (::lstat(path.c_str(), &info) != 0) {
        return core::fail(ErrorKind::unavailable, "cannot open " + path.string() + ": " + std::strerror(errno));
      }
    }
    if ((info.st_uid != kRunnerUid || info.st_gid != kRunnerGid) &&
        ::lchown(path.c_str(), kRunnerUid, kRunnerGid) != 0) {
      return core::fail(ErrorKind::unavailable,
                        "cannot give " + path.string() + " to uid 1000 (run as root or as uid 1000): " +
                            std::strerror(errno));
    }
    return {};
  }

  // Unmounts, then deletes the image, the directory and the stamp. The caller holds the claim.
  core::Result<void> remove(const std::string& name) const {
    const auto dir = server_root / name;
    auto mounted = is_mount_point(dir);
    if (!mounted) return core::fail(mounted.error());
    if (*mounted) {
      if (auto unmounted = unmount_volume(dir); !unmounted) return unmounted;
    }
    for (const auto& file : {image(name), fs::path(image(name).string() + ".new")}) ::unlink(file.c_str());
    core::Fd root(::open(server_root.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (root.get() < 0) return core::fail(ErrorKind::unavailable, "cannot open " + server_root.string());
    if (auto removed = remove_tree(root.get(), name, name);
        !removed && removed.error().kind != ErrorKind::not_found) {
      return removed;
    }
    ::unlink(stamp(name).c_str());
    return {};
  }
};

namespace {

// Ends a use of a conversation when the last copy of a Workspace goes away.
struct Lease {
  std::shared_ptr<Workspaces::State> state;
  std::string name;
  Lease(std::shared_ptr<Workspaces::State> s, std::string n) : state(std::move(s)), name(std::move(n)) {}
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  ~Lease() { state->release(name); }
};

}  // namespace

Workspaces::Workspaces(fs::path server_root, std::string engine_root, std::string file_secret,
                       WorkspaceOptions options)
    : m_state(std::make_shared<State>()) {
  m_state->server_root = std::move(server_root);
  m_state->engine_root = std::move(engine_root);
  m_state->name_key = derive_key(file_secret, "conversation-directory");
  m_state->quota = options.quota;
  m_state->now = options.now ? std::move(options.now) : system_now;
}

const VolumeLimits& Workspaces::quota() const { return m_state->quota; }

core::Result<void> Workspaces::prepare_root() const {
  const auto& root = m_state->server_root;
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) {
    return core::fail(ErrorKind::unavailable, "cannot create the sandbox root " + root.string() + ": " +
                                                  ec.message() + " (set SANDBOX_ROOT to a writable directory)");
  }
  if (::access(root.c_str(), W_OK | X_OK) != 0) {
    return core::fail(ErrorKind::unavailable, "the sandbox root " + root.string() +
                                                  " is not writable by this process: " + std::strerror(errno));
  }
  for (const char* own : {kImages, kLastUse}) {
    if (::mkdir((root / own).c_str(), 0700) != 0 && errno != EEXIST) {
      return core::fail(ErrorKind::unavailable, "cannot create " + (root / own).string() + ": " + std::strerror(errno));
    }
  }
  return {};
}

core::Result<void> Workspaces::check_quota_support() const {
  if (!m_state->quota.enabled()) return {};
  const auto base = m_state->server_root / kImages / ("probe-" + core::random_hex(6));
  const auto image = fs::path(base.string() + ".ext4");
  const auto mount_point = fs::path(base.string() + ".mnt");
  const auto cleanup = [&] {
    ::rmdir(mount_point.c_str());
    ::unlink(image.c_str());
  };
  const std::string fix = " (SANDBOX_QUOTA_MB needs root or CAP_SYS_ADMIN and loop devices; set SANDBOX_QUOTA_MB=0 "
                          "to run without enforced quotas)";
  if (::mkdir(mount_point.c_str(), 0700) != 0) {
    return core::fail(ErrorKind::unavailable, "cannot create " + mount_point.string() + ": " + std::strerror(errno));
  }
  auto made = create_volume_image(image, VolumeLimits{16 * 1024 * 1024, 64}, kRunnerUid, kRunnerGid);
  if (made) made = mount_volume(image, mount_point);
  if (!made) {
    cleanup();
    return core::fail(made.error().kind, "conversation quotas cannot work here: " + made.error().message + fix);
  }
  auto usage = volume_usage(mount_point);
  auto unmounted = unmount_volume(mount_point);
  cleanup();
  if (!usage) return core::fail(usage.error());
  if (!unmounted) return core::fail(unmounted.error());
  return {};
}

std::string Workspaces::check_conversation_id(std::string_view id) {
  if (id.empty()) return "conversationId must not be empty";
  if (id.size() > kMaxIdLength) return "conversationId must be at most 128 characters";
  for (char c : id) {
    if (!allowed_id_char(c)) return "conversationId may only contain letters, digits and . _ : @ -";
  }
  return {};
}

core::Result<Workspace> Workspaces::open(std::string_view conversation_id) const {
  if (auto problem = check_conversation_id(conversation_id); !problem.empty()) {
    return core::fail(ErrorKind::invalid_argument, problem);
  }
  return make(hmac_sha256_hex(m_state->name_key, conversation_id).substr(0, kNameHexDigits), false, true);
}

core::Result<Workspace> Workspaces::open_ephemeral() const {
  return make(std::string(kEphemeralPrefix) + core::random_hex(kEphemeralHexDigits / 2), true, true);
}

core::Result<Workspace> Workspaces::open_existing(std::string_view name) const {
  if (!is_hex(name, kNameHexDigits)) return core::fail(ErrorKind::not_found, "no such conversation");
  return make(std::string(name), false, false);
}

core::Result<Workspace> Workspaces::make(const std::string& name, bool ephemeral, bool create) const {
  Workspace workspace{name, m_state->server_root / name, m_state->engine_root + "/" + name, ephemeral, nullptr};
  m_state->claim(name);
  auto prepared = m_state->prepare(workspace, create);
  m_state->finish(name, prepared.has_value());
  if (!prepared) return core::fail(prepared.error());
  m_state->record_use(name, true);
  workspace.lease = std::make_shared<const Lease>(m_state, name);
  return workspace;
}

void Workspaces::discard(const Workspace& workspace) const {
  if (!workspace.ephemeral) return;
  m_state->claim(workspace.name);
  (void)m_state->remove(workspace.name);  // what is left the sweep removes later
  m_state->finish(workspace.name, false);
}

std::optional<VolumeUsage> Workspaces::usage(const Workspace& workspace) const {
  if (!m_state->quota.enabled()) return std::nullopt;
  auto usage = volume_usage(workspace.server_path);
  if (!usage) return std::nullopt;
  return *usage;
}

SweepReport Workspaces::sweep(const SweepPolicy& policy) const {
  SweepReport report;
  auto& state = *m_state;
  const auto& root = state.server_root;
  const std::int64_t now = state.now();
  for (const auto& name : directory_names(root)) {
    if (!is_workspace_name(name)) continue;
    const bool ephemeral = is_ephemeral_name(name);
    // What is due, judged on the recorded last use; re-judged once the claim is held.
    const auto due = [&](bool& expire, bool& unmount) {
      const auto last = state.last_use(name);
      if (!last) {
        // Never seen (made before stamps existed): its idle time starts now.
        state.record_use(name, true);
        return false;
      }
      const std::int64_t idle = now - *last;
      expire = ephemeral ? idle >= policy.ephemeral_grace_seconds
                         : (policy.ttl_seconds > 0 && idle >= policy.ttl_seconds);
      unmount = !expire && idle >= policy.unmount_idle_seconds && is_mount_point(root / name).value_or(false);
      return expire || unmount;
    };
    bool expire = false;
    bool unmount = false;
    if (!due(expire, unmount)) continue;
    if (!state.try_claim_idle(name)) {
      ++report.in_use;
      continue;
    }
    if (due(expire, unmount)) {
      auto done = expire ? state.remove(name) : unmount_volume(root / name);
      if (!done) {
        report.problems.push_back(name.substr(0, 8) + ": " + done.error().message);
      } else {
        ++(expire ? report.removed : report.unmounted);
      }
    }
    state.finish(name, false);
  }
  // Images and stamps whose conversation directory is gone (a crash mid-removal).
  for (const char* own : {kImages, kLastUse}) {
    for (const auto& file : directory_names(root / own)) {
      std::string name = file;
      for (auto suffix : {kNewImageSuffix, kImageSuffix}) {
        if (has_suffix(name, suffix)) {
          name.resize(name.size() - suffix.size());
          break;
        }
      }
      if (!is_workspace_name(name) || !state.try_claim_idle(name)) continue;
      struct stat info {};
      if (::lstat((root / name).c_str(), &info) != 0 && errno == ENOENT) ::unlink((root / own / file).c_str());
      state.finish(name, false);
    }
  }
  return report;
}

}  // namespace sandbox
