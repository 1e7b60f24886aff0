#pragma once

#include <string>
#include <string_view>

namespace sandbox {

/// HMAC-SHA256 of `message` under `key`, as 64 lower-case hex digits.
std::string hmac_sha256_hex(std::string_view key, std::string_view message);

/// A key for one purpose derived from the operator's FILE_SECRET, so that a
/// directory name can never be replayed as a URL signature and vice versa.
std::string derive_key(std::string_view secret, std::string_view purpose);

/// Compares two strings in time that depends only on their lengths.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace sandbox
