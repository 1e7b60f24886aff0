#include <catch2/catch.hpp>

#include "sandbox/url_signer.hpp"

using sandbox::UrlSigner;
using Verdict = sandbox::UrlSigner::Verdict;

namespace {

struct FakeClock {
  std::int64_t now = 1'700'000'000;
  UrlSigner::UnixClock fn() {
    return [this] { return now; };
  }
};

// Splits "…/files/<sandbox>/<path>?exp=E&sig=S" into its parts.
struct Parsed {
  std::string path, exp, sig;
};
Parsed parse(const std::string& url) {
  const auto q = url.find('?');
  const auto amp = url.find('&');
  return {url.substr(0, q), url.substr(q + 5, amp - q - 5), url.substr(amp + 5)};
}

}  // namespace

TEST_CASE("signer: a link verifies until it expires") {
  FakeClock clock;
  UrlSigner signer(std::string(40, 's'), "https://sandbox.example/", std::chrono::seconds(3600), clock.fn());
  const auto url = signer.url_for("abc123", "plots/out put.png");
  const auto parts = parse(url);
  CHECK(parts.path == "https://sandbox.example/files/abc123/plots/out%20put.png");
  CHECK(parts.exp == "1700003600");
  CHECK(signer.verify("abc123", "plots/out put.png", parts.exp, parts.sig) == Verdict::valid);
  clock.now += 3600;
  CHECK(signer.verify("abc123", "plots/out put.png", parts.exp, parts.sig) == Verdict::valid);
  clock.now += 1;
  CHECK(signer.verify("abc123", "plots/out put.png", parts.exp, parts.sig) == Verdict::expired);
}

TEST_CASE("signer: tampering with any part is refused") {
  FakeClock clock;
  UrlSigner signer(std::string(40, 's'), "http://h", std::chrono::seconds(60), clock.fn());
  const auto parts = parse(signer.url_for("abc", "a.txt"));
  CHECK(signer.verify("abc", "b.txt", parts.exp, parts.sig) == Verdict::bad_signature);
  CHECK(signer.verify("abd", "a.txt", parts.exp, parts.sig) == Verdict::bad_signature);
  CHECK(signer.verify("abc", "a.txt", std::to_string(std::stoll(parts.exp) + 1000), parts.sig) == Verdict::bad_signature);
  auto flipped = parts.sig;
  flipped[0] = flipped[0] == 'a' ? 'b' : 'a';
  CHECK(signer.verify("abc", "a.txt", parts.exp, flipped) == Verdict::bad_signature);
  CHECK(signer.verify("abc", "a.txt", "", parts.sig) == Verdict::bad_signature);
  CHECK(signer.verify("abc", "a.txt", "12x", parts.sig) == Verdict::bad_signature);
  CHECK(signer.verify("abc", "a.txt", parts.exp, "") == Verdict::bad_signature);
  // Expired *and* forged: reported as forged, never as merely expired.
  clock.now += 100000;
  CHECK(signer.verify("abc", "a.txt", parts.exp, flipped) == Verdict::bad_signature);
}

TEST_CASE("signer: a link from one secret or one sandbox is useless for another") {
  FakeClock clock;
  UrlSigner signer(std::string(40, 's'), "http://h", std::chrono::seconds(60), clock.fn());
  UrlSigner other(std::string(40, 't'), "http://h", std::chrono::seconds(60), clock.fn());
  const auto parts = parse(signer.url_for("abc", "a.txt"));
  CHECK(other.verify("abc", "a.txt", parts.exp, parts.sig) == Verdict::bad_signature);
  const auto theirs = parse(signer.url_for("def", "a.txt"));
  CHECK(signer.verify("abc", "a.txt", theirs.exp, theirs.sig) == Verdict::bad_signature);
}
