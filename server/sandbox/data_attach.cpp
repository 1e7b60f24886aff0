#include "sandbox/data_attach.hpp"

#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace sandbox {
namespace fs = std::filesystem;
using core::ErrorKind;

namespace {

// mountinfo escapes space, tab, newline and backslash in paths as \ooo.
std::string unescaped(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && field.size() - i >= 4) {
      const auto digits = field.substr(i + 1, 3);
      if (digits.find_first_not_of("01234567") == std::string_view::npos) {
        out += static_cast<char>(((digits[0] - '0') << 6) | ((digits[1] - '0') << 3) | (digits[2] - '0'));
        i += 3;
        continue;
      }
    }
    out += field[i];
  }
  return out;
}

// Whether `prefix` is `path` or one of its parent directories.
bool contains(const fs::path& prefix, const fs::path& path) {
  auto p = path.begin();
  for (auto it = prefix.begin(); it != prefix.end(); ++it, ++p) {
    if (it->empty()) continue;  // a trailing separator
    if (p == path.end() || *p != *it) return false;
  }
  return true;
}

std::string errno_text() { return std::strerror(errno); }

std::optional<std::string> own_mountinfo() {
  std::ifstream in("/proc/self/mountinfo");
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Calls `each(mount)` for every well-formed line of a mountinfo text, in order (a later line is
// mounted on top of an earlier one at the same point): its mount point and propagation.
// A line: id parent major:minor root mount-point options [optional fields...] - type source super-options
template <typename Each>
void for_each_mount(std::string_view mountinfo, const Each& each) {
  std::istringstream lines{std::string(mountinfo)};
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::vector<std::string> fields;
    for (std::string word; words >> word;) fields.push_back(word);
    if (fields.size() < 7) continue;
    MountPropagation mount{unescaped(fields[4])};
    for (std::size_t i = 6; i < fields.size() && fields[i] != "-"; ++i) {
      if (fields[i].rfind("shared:", 0) == 0) mount.shared = true;
      if (fields[i].rfind("master:", 0) == 0) mount.slave = true;
    }
    each(mount);
  }
}

// Left in the root while share_mounts_under's bind is there: a process that ended without undoing
// it (killed) leaves the bind, and the next one finds it is ours to undo.
constexpr const char* kSharedMarker = ".shared-mount";

}  // namespace

std::optional<MountPropagation> propagation_in(std::string_view mountinfo, const fs::path& path) {
  std::optional<MountPropagation> best;
  std::size_t best_depth = 0;
  for_each_mount(mountinfo, [&](const MountPropagation& mount) {
    if (!contains(mount.mount_point, path)) return;
    const auto depth = static_cast<std::size_t>(std::distance(mount.mount_point.begin(), mount.mount_point.end()));
    // At the same point the last line wins: it is mounted on top.
    if (!best || depth >= best_depth) {
      best = mount;
      best_depth = depth;
    }
  });
  return best;
}

std::size_t mounts_in(std::string_view mountinfo, const fs::path& mount_point) {
  std::size_t count = 0;
  for_each_mount(mountinfo, [&](const MountPropagation& mount) { count += mount.mount_point == mount_point ? 1 : 0; });
  return count;
}

std::size_t mounts_at(const fs::path& mount_point) {
  const auto text = own_mountinfo();
  if (!text) return 0;
  std::error_code error;
  const auto canonical = fs::weakly_canonical(mount_point, error);
  return mounts_in(*text, error ? mount_point : canonical);
}

core::Result<MountPropagation> propagation_of(const fs::path& path) {
  const auto text = own_mountinfo();
  if (!text) return core::fail(ErrorKind::unavailable, "cannot read /proc/self/mountinfo");
  std::error_code error;
  const auto canonical = fs::canonical(path, error);
  if (error) return core::fail(ErrorKind::unavailable, "cannot resolve " + path.string() + ": " + error.message());
  auto found = propagation_in(*text, canonical);
  if (!found) return core::fail(ErrorKind::unavailable, "no mount holds " + canonical.string());
  return *found;
}

core::Result<bool> share_mounts_under(const fs::path& root) {
  auto current = propagation_of(root);
  if (!current) return core::fail(current.error());
  std::error_code error;
  const auto canonical = fs::canonical(root, error);
  if (error) return core::fail(ErrorKind::unavailable, "cannot resolve " + root.string() + ": " + error.message());
  if (current->shared) return current->mount_point == canonical && fs::exists(canonical / kSharedMarker);
  bool made = false;
  if (current->mount_point != canonical) {
    if (::mount(canonical.c_str(), canonical.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
      return core::fail(ErrorKind::unavailable, "cannot bind " + canonical.string() + " onto itself: " + errno_text() +
                                                    " (needs CAP_SYS_ADMIN)");
    }
    made = true;
  }
  if (::mount(nullptr, canonical.c_str(), nullptr, MS_SHARED | MS_REC, nullptr) != 0) {
    const auto why = errno_text();
    if (made) ::umount2(canonical.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);
    return core::fail(ErrorKind::unavailable, "cannot make " + canonical.string() + " a shared mount: " + why);
  }
  if (made) std::ofstream(canonical / kSharedMarker) << "bound onto itself as a shared mount by mcp-sandbox\n";
  return made;
}

core::Result<void> unshare_mounts_under(const fs::path& root) {
  if (::umount2(root.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0) {
    return core::fail(ErrorKind::unavailable,
                      "cannot unmount the bind of " + root.string() + " onto itself: " + errno_text());
  }
  std::error_code ignored;
  fs::remove(root / kSharedMarker, ignored);
  return {};
}

core::Result<AttachedDirectory> AttachedDirectory::attach(const fs::path& directory, const fs::path& at) {
  // MS_BIND without MS_REC: only the directory's own mount (its quota volume, if it has one).
  if (::mount(directory.c_str(), at.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    return core::fail(ErrorKind::unavailable, "cannot attach a conversation's directory to a started container: " +
                                                  errno_text());
  }
  return AttachedDirectory(at);
}

AttachedDirectory::AttachedDirectory(AttachedDirectory&& other) noexcept : m_at(std::move(other.m_at)) {
  other.m_at.clear();
}

AttachedDirectory& AttachedDirectory::operator=(AttachedDirectory&& other) noexcept {
  if (this != &other) {
    (void)detach();
    m_at = std::move(other.m_at);
    other.m_at.clear();
  }
  return *this;
}

// The run's caller detaches and reports a failure; here only what an early return left behind.
AttachedDirectory::~AttachedDirectory() { (void)detach(); }

core::Result<void> AttachedDirectory::detach() {
  if (m_at.empty()) return {};
  const auto at = std::move(m_at);
  m_at.clear();
  if (::umount2(at.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0) {
    return core::fail(ErrorKind::unavailable,
                      "cannot detach a conversation's directory from " + at.string() + ": " + errno_text());
  }
  return {};
}

}  // namespace sandbox
