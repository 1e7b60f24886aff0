#include "sandbox/workspace.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "core/random.hpp"
#include "sandbox/hmac.hpp"

namespace sandbox {
namespace fs = std::filesystem;
using core::ErrorKind;

namespace {

constexpr std::size_t kMaxIdLength = 128;
// 128 bits of the HMAC: short paths, no collisions in practice.
constexpr std::size_t kNameHexDigits = 32;

bool allowed_id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == ':' || c == '@' || c == '-';
}

}  // namespace

Workspaces::Workspaces(fs::path server_root, std::string engine_root, std::string file_secret)
    : m_server_root(std::move(server_root)),
      m_engine_root(std::move(engine_root)),
      m_name_key(derive_key(file_secret, "conversation-directory")) {}

core::Result<void> Workspaces::prepare_root() const {
  std::error_code ec;
  fs::create_directories(m_server_root, ec);
  if (ec) {
    return core::fail(ErrorKind::unavailable, "cannot create the sandbox root " + m_server_root.string() + ": " +
                                                  ec.message() + " (set SANDBOX_ROOT to a writable directory)");
  }
  if (::access(m_server_root.c_str(), W_OK | X_OK) != 0) {
    return core::fail(ErrorKind::unavailable, "the sandbox root " + m_server_root.string() +
                                                  " is not writable by this process: " + std::strerror(errno));
  }
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
  return make(hmac_sha256_hex(m_name_key, conversation_id).substr(0, kNameHexDigits), false);
}

core::Result<Workspace> Workspaces::open_ephemeral() const {
  return make("tmp-" + core::random_hex(12), true);
}

core::Result<Workspace> Workspaces::make(const std::string& name, bool ephemeral) const {
  Workspace workspace{name, m_server_root / name, m_engine_root + "/" + name, ephemeral};
  if (::mkdir(workspace.server_path.c_str(), 0700) != 0 && errno != EEXIST) {
    return core::fail(ErrorKind::unavailable,
                      "cannot create " + workspace.server_path.string() + ": " + std::strerror(errno));
  }
  // The directory must be a real directory we made, never a link planted by a run.
  struct stat info {};
  if (::lstat(workspace.server_path.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
    return core::fail(ErrorKind::internal, "sandbox entry " + name + " is not a directory");
  }
  if ((info.st_uid != kRunnerUid || info.st_gid != kRunnerGid) &&
      ::lchown(workspace.server_path.c_str(), kRunnerUid, kRunnerGid) != 0) {
    return core::fail(ErrorKind::unavailable, "cannot give " + workspace.server_path.string() +
                                                  " to uid 1000 (run as root or as uid 1000): " + std::strerror(errno));
  }
  return workspace;
}

void Workspaces::discard(const Workspace& workspace) const {
  if (!workspace.ephemeral) return;
  std::error_code ignored;
  fs::remove_all(workspace.server_path, ignored);
}

}  // namespace sandbox
