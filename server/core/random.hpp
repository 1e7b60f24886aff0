#pragma once

#include <cstddef>
#include <string>

namespace core {

/// `bytes` bytes from the kernel's CSPRNG (getrandom), as lower-case hex.
std::string random_hex(std::size_t bytes);

/// `bytes` raw bytes from the kernel's CSPRNG.
std::string random_bytes(std::size_t bytes);

}  // namespace core
