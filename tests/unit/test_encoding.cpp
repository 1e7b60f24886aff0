#include <catch2/catch.hpp>

#include "core/encoding.hpp"

TEST_CASE("base64: RFC 4648 vectors both ways") {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    CHECK(core::base64_encode(plain) == encoded);
    CHECK(core::base64_decode(encoded) == std::optional<std::string>(plain));
  }
  const std::string binary("\x00\xff\x10\x80", 4);
  CHECK(core::base64_decode(core::base64_encode(binary)) == std::optional<std::string>(binary));
}

TEST_CASE("base64: tolerant of missing padding and line breaks, strict otherwise") {
  CHECK(core::base64_decode("Zm9vYg") == std::optional<std::string>("foob"));
  CHECK(core::base64_decode("Zm9v\nYmFy\n") == std::optional<std::string>("foobar"));
  CHECK_FALSE(core::base64_decode("Zm9v!"));
  CHECK_FALSE(core::base64_decode("Z"));
  CHECK_FALSE(core::base64_decode("Zg==Zg=="));
  CHECK_FALSE(core::base64_decode("Zg==="));
}

TEST_CASE("utf8: well-formed text passes, broken sequences do not") {
  CHECK(core::is_valid_utf8("plain ascii"));
  CHECK(core::is_valid_utf8("ünïcödé ✓ 𝄞"));
  CHECK_FALSE(core::is_valid_utf8("\xff"));
  CHECK_FALSE(core::is_valid_utf8("\xc3"));         // truncated
  CHECK_FALSE(core::is_valid_utf8("\xc0\xaf"));     // overlong '/'
  CHECK_FALSE(core::is_valid_utf8("\xed\xa0\x80"));  // surrogate
  CHECK_FALSE(core::is_valid_utf8(std::string("PNG\x89\x00", 5) + "\x1a"));
}
