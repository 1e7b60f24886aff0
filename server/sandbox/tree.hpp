#pragma once

#include <cstddef>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace sandbox {

/// The names in the open directory `dir_fd` other than "." and "..", read from its start, in the
/// order the file system gives them; at most `max_names`. `dir_fd` stays open. Fails (not_found
/// when the directory is gone, else internal) with the system's reason as the message.
core::Result<std::vector<std::string>> entry_names(int dir_fd,
                                                   std::size_t max_names = std::numeric_limits<std::size_t>::max());

/// Removes the entry `name` of the directory `parent_fd`: a file, a link
/// (never followed) or a directory with everything in it. A run controls the
/// tree, so the walk opens each directory with O_NOFOLLOW relative to its
/// parent and keeps its depth bounded: directories nested deeper than a few
/// dozen levels are first moved up into the top directory and removed in a
/// later pass, so no tree can exhaust descriptors or the stack. A directory
/// with something mounted on it (a bind mount included) is not walked into:
/// the removal stops there with a conflict, and what is mounted stays whole.
/// `shown` names the entry in error messages.
core::Result<void> remove_tree(int parent_fd, const std::string& name, std::string_view shown);

}  // namespace sandbox
