// Checks the sandbox path validator: whatever it accepts must split into
// components that can never leave the sandbox.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/encoding.hpp"
#include "sandbox/paths.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view path(reinterpret_cast<const char*>(data), size);
  (void)sandbox::mime_type_for(path);
  (void)core::percent_encode(path, "/");
  if (!sandbox::check_relative_path(path).empty()) return 0;
  for (const auto& part : sandbox::split_path(path)) {
    if (part.empty() || part == ".." || part == "." || part.find('/') != std::string::npos ||
        part.find('\0') != std::string::npos) {
      std::abort();  // the validator let through a component that escapes
    }
  }
  if (path.front() == '/') std::abort();
  return 0;
}
