#include "core/random.hpp"

#include "core/encoding.hpp"

#include <sys/random.h>

#include <stdexcept>

namespace core {

std::string random_hex(std::size_t bytes) { return hex_encode(random_bytes(bytes)); }

std::string random_bytes(std::size_t bytes) {
  std::string buffer(bytes, '\0');
  std::size_t filled = 0;
  while (filled < bytes) {
    const ssize_t got = getrandom(buffer.data() + filled, bytes - filled, 0);
    // getrandom only fails on EINTR (retry) or a kernel without it (no way to go on safely).
    if (got < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("getrandom failed");
    }
    filled += static_cast<std::size_t>(got);
  }
  return buffer;
}

}  // namespace core
