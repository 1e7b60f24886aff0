#include "sandbox/workspace.hpp"

#include "sandbox/data_attach.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <set>
#include <system_error>
#include <utility>

#include "core/fd.hpp"
#include "core/random.hpp"
#include "sandbox/claims.hpp"
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

// The last use of each conversation: the mtime of `.last-use/<name>`, outside the conversation,
// where no program can change it.
class LastUse {
 public:
  LastUse(fs::path dir, std::function<std::int64_t()> now) : m_dir(std::move(dir)), m_now(std::move(now)) {}

  // Records a use at the current time; `create` makes the stamp when there is none yet.
  void record(const std::string& name, bool create) const {
    core::Fd file(::open(path(name).c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC | (create ? O_CREAT : 0), 0600));
    if (file.get() < 0) return;
    const timespec when{static_cast<time_t>(m_now()), 0};
    const timespec times[2] = {when, when};
    ::futimens(file.get(), times);
  }

  // Seconds since the epoch of the last recorded use, or nullopt when none is recorded.
  [[nodiscard]] std::optional<std::int64_t> get(const std::string& name) const {
    struct stat info {};
    if (::lstat(path(name).c_str(), &info) != 0 || !S_ISREG(info.st_mode)) return std::nullopt;
    return static_cast<std::int64_t>(info.st_mtim.tv_sec);
  }

  void forget(const std::string& name) const { ::unlink(path(name).c_str()); }

  [[nodiscard]] std::int64_t now() const { return m_now(); }

 private:
  [[nodiscard]] fs::path path(const std::string& name) const { return m_dir / name; }

  fs::path m_dir;
  std::function<std::int64_t()> m_now;
};

// Each conversation's volume: a fixed-size ext4 image in `.images/<name>.ext4`, mounted on the
// conversation's directory while in use.
class Volumes {
 public:
  Volumes(fs::path dir, VolumeLimits quota) : m_dir(std::move(dir)), m_quota(quota) {}

  [[nodiscard]] const VolumeLimits& quota() const { return m_quota; }

  // Mounts the conversation's image on `mount_point`, making the image first when there is none.
  core::Result<void> ensure_mounted(const std::string& name, const fs::path& mount_point) const {
    auto mounted = is_mount_point(mount_point);
    if (!mounted) return core::fail(mounted.error());
    if (*mounted) return {};  // mounted before (this process, or one before a restart)
    const auto image_path = image(name);
    const bool fresh = !fs::exists(image_path);
    if (fresh) {
      // Made under another name and renamed when complete, so a crash never leaves a half-made image.
      const auto partial = partial_image(name);
      if (auto made = create_volume_image(partial, m_quota, kRunnerUid, kRunnerGid); !made) return made;
      if (::rename(partial.c_str(), image_path.c_str()) != 0) {
        return core::fail(ErrorKind::unavailable, "cannot create " + image_path.string() + ": " + std::strerror(errno));
      }
    }
    if (auto done = mount_volume(image_path, mount_point); !done) return done;
    // mkfs makes lost+found (root's, unreadable); a conversation's /data starts empty.
    if (fresh) ::rmdir((mount_point / "lost+found").c_str());
    return {};
  }

  // Unmounts whatever is mounted at `mount_point`: first what a process that ended mid-run left
  // attached on top of a pooled directory (AttachedDirectory), lazily, because the orphaned run
  // may still be inside it until the reaper removes it; then the directory's own volume.
  [[nodiscard]] core::Result<void> ensure_unmounted(const fs::path& mount_point) const {
    auto mounted = is_mount_point(mount_point);
    if (!mounted) return core::fail(mounted.error());
    if (!*mounted) return {};  // the common case: nothing to read mountinfo for
    const std::size_t own = m_quota.enabled() ? 1 : 0;
    for (auto layers = mounts_at(mount_point); layers > own; --layers) {
      if (::umount2(mount_point.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0) {
        return core::fail(ErrorKind::unavailable, "cannot detach what is attached on " + mount_point.string() + ": " +
                                                      std::strerror(errno));
      }
    }
    mounted = is_mount_point(mount_point);
    if (!mounted) return core::fail(mounted.error());
    if (*mounted) return unmount_volume(mount_point);
    return {};
  }

  // Deletes the conversation's image and any half-made one.
  void remove_images(const std::string& name) const {
    for (const auto& file : {image(name), partial_image(name)}) ::unlink(file.c_str());
  }

 private:
  [[nodiscard]] fs::path image(const std::string& name) const { return m_dir / (name + std::string(kImageSuffix)); }
  [[nodiscard]] fs::path partial_image(const std::string& name) const {
    return m_dir / (name + std::string(kNewImageSuffix));
  }

  fs::path m_dir;
  VolumeLimits m_quota;
};

}  // namespace

// Shared by every copy of a Workspaces and by the leases it hands out: where conversations live,
// who uses them (claims), when each was last used, and their volumes.
struct Workspaces::State {
  fs::path server_root;
  std::string engine_root;
  std::string name_key;
  Claims claims;
  LastUse last_use;
  Volumes volumes;
  std::shared_ptr<ConversationIndex> index;

  State(fs::path root, std::string engine, std::string key, const WorkspaceOptions& options)
      : server_root(std::move(root)),
        engine_root(std::move(engine)),
        name_key(std::move(key)),
        last_use(server_root / kLastUse, options.now ? options.now : system_now),
        volumes(server_root / kImages, options.quota),
        index(options.index) {}

  // The directory a conversation key lives in: the key itself unless the index bound it elsewhere.
  [[nodiscard]] core::Result<std::string> directory_for(const std::string& key) const {
    if (!index) return key;
    return index->directory_for(key);
  }

  // The directory of a conversation a use may create: bound to its key's own directory unless it is
  // bound already, in one step with adopt(), so two first calls never split a conversation.
  [[nodiscard]] core::Result<std::string> bind_own(const std::string& key) const {
    if (!index) return key;
    return index->bind_own(key);
  }

  // The sweep removed directory `name`: the index forgets the conversation that lived there.
  void forget_directory(const std::string& name) const {
    if (!index || is_ephemeral_name(name)) return;
    if (auto key = index->key_for_directory(name)) (void)index->forget(*key);
  }

  // Makes the directory a conversation's /data: a real directory (never a link a run planted),
  // mounted when there is a quota, owned by the runner user. The caller holds the claim.
  core::Result<void> prepare(const Workspace& workspace, bool create, bool mount = true) const {
    const auto& path = workspace.server_path;
    if (create && ::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
      return core::fail(ErrorKind::unavailable, "cannot create " + path.string() + ": " + std::strerror(errno));
    }
    struct stat info {};
    if (::lstat(path.c_str(), &info) != 0) {
      if (errno == ENOENT && !create) return core::fail(ErrorKind::not_found, "no such conversation");
      return core::fail(ErrorKind::unavailable, "cannot open " + path.string() + ": " + std::strerror(errno));
    }
    if (!S_ISDIR(info.st_mode)) {
      return core::fail(ErrorKind::internal, "sandbox entry " + workspace.name + " is not a directory");
    }
    if (volumes.quota().enabled() && !mount) {
      auto mounted = is_mount_point(path);
      if (!mounted) return core::fail(mounted.error());
      if (!*mounted) return core::fail(ErrorKind::not_found, "the conversation is idle (its volume is not mounted)");
    } else if (volumes.quota().enabled()) {
      if (auto mounted = volumes.ensure_mounted(workspace.name, path); !mounted) return mounted;
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
    if (auto unmounted = volumes.ensure_unmounted(server_root / name); !unmounted) return unmounted;
    volumes.remove_images(name);
    core::Fd root(::open(server_root.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (root.get() < 0) return core::fail(ErrorKind::unavailable, "cannot open " + server_root.string());
    if (auto removed = remove_tree(root.get(), name, name);
        !removed && removed.error().kind != ErrorKind::not_found) {
      return removed;
    }
    last_use.forget(name);
    return {};
  }

  // One holder is done with `name`: the sweep may take it once nobody holds it, idle from now.
  void release(const std::string& name) {
    claims.release(name);
    last_use.record(name, false);
  }
};

namespace {

// Ends a use of a conversation when the last copy of a Workspace goes away.
struct Lease {
  std::shared_ptr<Workspaces::State> state;
  std::string name;
  bool counts_as_use = true;  ///< false for a look that must not keep the conversation alive (a listing)
  Lease(std::shared_ptr<Workspaces::State> s, std::string n, bool use = true)
      : state(std::move(s)), name(std::move(n)), counts_as_use(use) {}
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  ~Lease() {
    if (counts_as_use) {
      state->release(name);
    } else {
      state->claims.release(name);
    }
  }
};

}  // namespace

Workspaces::Workspaces(fs::path server_root, std::string engine_root, std::string file_secret,
                       WorkspaceOptions options)
    : m_state(std::make_shared<State>(std::move(server_root), std::move(engine_root),
                                      derive_key(file_secret, "conversation-directory"), options)) {}

const VolumeLimits& Workspaces::quota() const { return m_state->volumes.quota(); }

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
  if (!quota().enabled()) return {};
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

std::string Workspaces::key_of(std::string_view conversation_id) const {
  return hmac_sha256_hex(m_state->name_key, conversation_id).substr(0, kNameHexDigits);
}

core::Result<Workspace> Workspaces::open(std::string_view conversation_id) const {
  if (auto problem = check_conversation_id(conversation_id); !problem.empty()) {
    return core::fail(ErrorKind::invalid_argument, problem);
  }
  auto key = key_of(conversation_id);
  auto directory = m_state->bind_own(key);
  if (!directory) return core::fail(directory.error());
  return make(*directory, std::move(key), false, true, true);
}

core::Result<bool> Workspaces::exists(std::string_view conversation_id) const {
  if (auto problem = check_conversation_id(conversation_id); !problem.empty()) {
    return core::fail(ErrorKind::invalid_argument, problem);
  }
  auto directory = m_state->directory_for(key_of(conversation_id));
  if (!directory) return core::fail(directory.error());
  struct stat info {};
  if (::lstat((m_state->server_root / *directory).c_str(), &info) == 0) return true;
  if (errno == ENOENT) return false;
  return core::fail(ErrorKind::unavailable, "cannot look up a conversation: " + std::string(std::strerror(errno)));
}

core::Result<Workspace> Workspaces::open_unbound() const {
  // The same shape as a key, so links, stamps, volumes and the sweep treat it as any conversation's.
  for (int attempt = 0; attempt < 4; ++attempt) {
    auto name = core::random_hex(kNameHexDigits / 2);
    struct stat info {};
    if (::lstat((m_state->server_root / name).c_str(), &info) == 0) continue;  // astronomically unlikely
    auto workspace = make(name, {}, false, true, true);
    if (!workspace) return workspace;
    workspace->ephemeral = true;  // discard() removes it until a conversation adopts it
    // Recorded while this process holds it: a directory a crash left unadopted is then known as
    // such, and the sweep removes it instead of keeping it as a conversation nobody can name.
    if (m_state->index) {
      if (auto reserved = m_state->index->reserve(name); !reserved) {
        discard(*workspace);
        return core::fail(reserved.error());
      }
    }
    return workspace;
  }
  return core::fail(ErrorKind::internal, "cannot pick a fresh directory name");
}

core::Result<void> Workspaces::record_use(std::string_view caller, const Workspace& workspace) const {
  if (!m_state->index || caller.empty() || workspace.key.empty()) return {};
  return m_state->index->record_use(caller, workspace.key);
}

core::Result<Workspace> Workspaces::adopt(std::string_view conversation_id, const Workspace& unbound) const {
  if (auto problem = check_conversation_id(conversation_id); !problem.empty()) {
    return core::fail(ErrorKind::invalid_argument, problem);
  }
  if (!m_state->index) return core::fail(ErrorKind::conflict, "no conversation index to bind a directory in");
  if (!unbound.ephemeral || !unbound.key.empty() || is_ephemeral_name(unbound.name)) {
    return core::fail(ErrorKind::invalid_argument, "only a directory from open_unbound() can be adopted");
  }
  auto key = key_of(conversation_id);
  // A conversation of the original layout has its directory but no binding: it is not new.
  struct stat info {};
  if (::lstat((m_state->server_root / key).c_str(), &info) == 0) {
    return core::fail(ErrorKind::conflict, "the conversation exists already");
  }
  if (auto bound = m_state->index->adopt(key, unbound.name); !bound) return core::fail(bound.error());
  Workspace adopted = unbound;
  adopted.ephemeral = false;
  adopted.key = std::move(key);
  return adopted;
}

core::Result<Workspace> Workspaces::find(std::string_view conversation_id, bool mount) const {
  if (auto problem = check_conversation_id(conversation_id); !problem.empty()) {
    return core::fail(ErrorKind::invalid_argument, problem);
  }
  auto key = key_of(conversation_id);
  auto directory = m_state->directory_for(key);
  if (!directory) return core::fail(directory.error());
  return make(*directory, std::move(key), false, false, mount);
}

core::Result<Workspace> Workspaces::open_ephemeral() const {
  return make(std::string(kEphemeralPrefix) + core::random_hex(kEphemeralHexDigits / 2), {}, true, true, true);
}

core::Result<Workspace> Workspaces::open_existing(std::string_view name) const {
  if (!is_hex(name, kNameHexDigits)) return core::fail(ErrorKind::not_found, "no such conversation");
  return make(std::string(name), {}, false, false, true);
}

core::Result<Workspace> Workspaces::make(const std::string& name, std::string key, bool ephemeral, bool create,
                                         bool mount) const {
  Workspace workspace{name, m_state->server_root / name, m_state->engine_root + "/" + name, ephemeral, nullptr,
                      std::move(key)};
  m_state->claims.claim(name);
  auto prepared = m_state->prepare(workspace, create, mount);
  m_state->claims.finish(name, prepared.has_value());
  if (!prepared) return core::fail(prepared.error());
  // Looking without mounting is not a use: listings must not keep a conversation from its sweep.
  if (mount) m_state->last_use.record(name, true);
  workspace.lease = std::make_shared<const Lease>(m_state, name, mount);
  return workspace;
}

void Workspaces::discard(const Workspace& workspace) const {
  if (!workspace.ephemeral) return;
  m_state->claims.claim(workspace.name);
  // What is left the sweep removes later; a pooled directory's reservation goes with it.
  if (m_state->remove(workspace.name)) m_state->forget_directory(workspace.name);
  m_state->claims.finish(workspace.name, false);
}

std::optional<VolumeUsage> Workspaces::usage(const Workspace& workspace) const {
  if (!quota().enabled()) return std::nullopt;
  auto usage = volume_usage(workspace.server_path);
  if (!usage) return std::nullopt;
  return *usage;
}

SweepReport Workspaces::sweep(const SweepPolicy& policy) const {
  SweepReport report;
  auto& state = *m_state;
  const auto& root = state.server_root;
  const std::int64_t now = state.last_use.now();
  // Directories made for new conversations that none adopted: this process's pool holds its own,
  // so those that nobody holds were left by a process that ended (crashed) before it removed them.
  std::set<std::string> unborn;
  if (state.index) {
    if (auto reserved = state.index->unborn()) {
      unborn.insert(reserved->begin(), reserved->end());
    } else {
      report.problems.push_back(reserved.error().message);
    }
  }
  for (const auto& name : directory_names(root)) {
    if (!is_workspace_name(name)) continue;
    const bool ephemeral = is_ephemeral_name(name);
    const bool reserved = unborn.erase(name) > 0;
    // What is due, judged on the recorded last use; re-judged once the claim is held.
    const auto due = [&](bool& expire, bool& unmount) {
      if (reserved) {
        // Still unadopted (an adoption may have come between the list and the claim)?
        expire = state.index->is_unborn(name).value_or(false);
        return expire;
      }
      const auto last = state.last_use.get(name);
      if (!last) {
        // Never seen (made before stamps existed): its idle time starts now.
        state.last_use.record(name, true);
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
    if (!state.claims.try_claim_idle(name)) {
      if (!reserved) ++report.in_use;  // a pooled directory is always held: not worth reporting
      continue;
    }
    if (due(expire, unmount)) {
      auto done = expire ? state.remove(name) : unmount_volume(root / name);
      if (done && expire) state.forget_directory(name);
      if (!done) {
        report.problems.push_back(name.substr(0, 8) + ": " + done.error().message);
      } else {
        ++(expire ? report.removed : report.unmounted);
      }
    }
    state.claims.finish(name, false);
  }
  // Reservations whose directory is gone (a crash mid-removal).
  for (const auto& name : unborn) {
    if (!state.claims.try_claim_idle(name)) continue;
    struct stat info {};
    if (::lstat((root / name).c_str(), &info) != 0 && errno == ENOENT) state.forget_directory(name);
    state.claims.finish(name, false);
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
      if (!is_workspace_name(name) || !state.claims.try_claim_idle(name)) continue;
      struct stat info {};
      if (::lstat((root / name).c_str(), &info) != 0 && errno == ENOENT) ::unlink((root / own / file).c_str());
      state.claims.finish(name, false);
    }
  }
  return report;
}

}  // namespace sandbox
