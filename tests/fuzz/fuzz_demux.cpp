// Feeds arbitrary bytes, split at an arbitrary point, to the engine stream
// demultiplexer: output must stay within the caps and never crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "docker/stream_demux.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t cap = data[0] % 64;
  const std::size_t split = data[1] % (size - 1);
  const std::string_view stream(reinterpret_cast<const char*>(data) + 2, size - 2);
  docker::StreamDemux demux(cap, cap / 2);
  if ((data[1] & 1) != 0) demux.end_at_line("tok");  // the run's end lines: "tok <status>\n"
  demux.feed(stream.substr(0, split));
  demux.feed(stream.substr(split));
  demux.finish();
  if (demux.out().size() > cap || demux.err().size() > cap / 2) std::abort();
  return 0;
}
