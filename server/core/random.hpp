#pragma once

#include <cstddef>
#include <string>

namespace core {

/// `bytes` bytes from the kernel's CSPRNG (getrandom), as lower-case hex.
std::string random_hex(std::size_t bytes);

}  // namespace core
