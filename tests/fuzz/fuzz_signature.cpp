// Feeds arbitrary sandbox/path/exp/sig quadruples to the download-link
// verifier: it must never accept a forgery or crash on garbage.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sandbox/url_signer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const sandbox::UrlSigner signer(std::string(40, 'k'), "http://h", std::chrono::seconds(60),
                                         [] { return std::int64_t{1'700'000'000}; });
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // Split the input into four fields at '\n'.
  std::string_view fields[4];
  std::string_view rest = input;
  for (int i = 0; i < 3; ++i) {
    const auto newline = rest.find('\n');
    fields[i] = rest.substr(0, newline);
    rest = newline == std::string_view::npos ? std::string_view() : rest.substr(newline + 1);
  }
  fields[3] = rest;
  if (signer.verify(fields[0], fields[1], fields[2], fields[3]) != sandbox::UrlSigner::Verdict::bad_signature) {
    std::abort();  // a random signature was accepted (or called merely expired)
  }
  return 0;
}
