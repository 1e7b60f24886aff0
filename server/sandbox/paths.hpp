#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sandbox {

/// Longest relative path accepted inside a sandbox, in bytes.
inline constexpr std::size_t kMaxPathBytes = 1024;

/// Why `path` is refused as a path inside a sandbox, or an empty string when
/// it is fine. Refused: empty, absolute, `..` or `.` components, empty
/// components (`a//b`), NUL or other control characters, over-long names.
/// `allow_root` lets "" and "." mean the sandbox itself (for listing).
std::string check_relative_path(std::string_view path, bool allow_root = false);

/// The components of a checked path ("a/b/c" -> {"a","b","c"}); "" and "." give none.
std::vector<std::string> split_path(std::string_view path);

/// The MIME type for a file name, from its extension; application/octet-stream when unknown.
std::string mime_type_for(std::string_view name);

/// True for the image types assistants display inline (png, jpeg, gif, webp).
bool is_inline_image(std::string_view mime_type);

}  // namespace sandbox
