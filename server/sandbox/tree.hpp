#pragma once

#include <string>
#include <string_view>

#include "core/error.hpp"

namespace sandbox {

/// Removes the entry `name` of the directory `parent_fd`: a file, a link
/// (never followed) or a directory with everything in it. A run controls the
/// tree, so the walk opens each directory with O_NOFOLLOW relative to its
/// parent and keeps its depth bounded: directories nested deeper than a few
/// dozen levels are first moved up into the top directory and removed in a
/// later pass, so no tree can exhaust descriptors or the stack. `shown` names
/// the entry in error messages.
core::Result<void> remove_tree(int parent_fd, const std::string& name, std::string_view shown);

}  // namespace sandbox
