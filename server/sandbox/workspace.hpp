#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace sandbox {

/// The uid and gid that own conversation directories and run every program.
inline constexpr unsigned kRunnerUid = 1000;
inline constexpr unsigned kRunnerGid = 1000;

/// One conversation's directory, seen from this process and from the engine.
struct Workspace {
  std::string name;                   ///< directory name: an HMAC of the conversation id, never the id
  std::filesystem::path server_path;  ///< where this process reads and writes it
  std::string engine_path;            ///< what the engine bind-mounts at /data
  bool ephemeral = false;             ///< removed when the run that made it ends
};

/// Maps conversation ids to directories under the sandbox root.
/// The root has two names: ours (`server_root`) and the engine's (`engine_root`),
/// which differ when this process runs in a container beside the engine.
class Workspaces {
 public:
  Workspaces(std::filesystem::path server_root, std::string engine_root, std::string file_secret);

  /// Creates the root when missing. Fails with a sentence saying what to fix.
  core::Result<void> prepare_root() const;

  /// The conversation's directory, created (owned 1000:1000) when missing.
  /// Ids are 1-128 characters of letters, digits and `._:@-`.
  core::Result<Workspace> open(std::string_view conversation_id) const;

  /// A fresh throwaway directory for a run that belongs to no conversation.
  core::Result<Workspace> open_ephemeral() const;

  /// Removes an ephemeral workspace (never a conversation's).
  void discard(const Workspace& workspace) const;

  /// Why a conversation id is refused, or an empty string when it is fine.
  static std::string check_conversation_id(std::string_view id);

 private:
  core::Result<Workspace> make(const std::string& name, bool ephemeral) const;

  std::filesystem::path m_server_root;
  std::string m_engine_root;
  std::string m_name_key;
};

}  // namespace sandbox
