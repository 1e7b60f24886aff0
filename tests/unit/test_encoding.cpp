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

TEST_CASE("hex: every byte as two lower-case digits") {
  CHECK(core::hex_encode("") == "");
  CHECK(core::hex_encode(std::string("\x00\x01\x7f\x80\xab\xff", 6)) == "00017f80abff");
  CHECK(core::hex_encode("Az") == "417a");
}

TEST_CASE("percent: unreserved characters stay, the rest is %XX in upper case") {
  CHECK(core::percent_encode("aZ09-._~") == "aZ09-._~");
  CHECK(core::percent_encode("a b/c?d=e&f") == "a%20b%2Fc%3Fd%3De%26f");
  CHECK(core::percent_encode("dir/ä.png", "/") == "dir/%C3%A4.png");
  CHECK(core::percent_encode(std::string("\x00\xff", 2)) == "%00%FF");
  CHECK(core::percent_encode("{\"label\":[\"x\"]}") == "%7B%22label%22%3A%5B%22x%22%5D%7D");
}

TEST_CASE("percent: decoding takes %XX in either case; '+' is a space only in forms; malformed is refused") {
  CHECK(core::percent_decode("dir/%C3%a4.png") == "dir/\xc3\xa4.png");
  CHECK(core::percent_decode("a+b") == "a+b");
  CHECK(core::percent_decode("a+b%2B", /*plus_is_space=*/true) == "a b+");
  CHECK(core::percent_decode(core::percent_encode(std::string("\x00\xff/", 3))) == std::string("\x00\xff/", 3));
  CHECK_FALSE(core::percent_decode("%"));
  CHECK_FALSE(core::percent_decode("%4"));
  CHECK_FALSE(core::percent_decode("ab%4g"));
  CHECK(core::hex_digit('F') == 15);
  CHECK(core::hex_digit('g') == -1);
}

TEST_CASE("trim: ASCII white space at both ends only") {
  CHECK(core::trim("  a b \t\r\n") == "a b");
  CHECK(core::trim("\v\fx\f\v") == "x");
  CHECK(core::trim(" \t\r\n ").empty());
  CHECK(core::trim("").empty());
  CHECK(core::trim("x") == "x");
  CHECK(core::trim("\xc2\xa0x") == "\xc2\xa0x");  // not ASCII white space: kept
}

TEST_CASE("printable: control characters and broken bytes are escaped, text is bounded") {
  CHECK(core::printable("plain text: ünïcödé ✓") == "plain text: ünïcödé ✓");
  // A forged second log line, a terminal escape, DEL, a NUL.
  CHECK(core::printable("python\n2026-01-01 [info] run ok") == "python\\x0a2026-01-01 [info] run ok");
  CHECK(core::printable("\x1b[31mred") == "\\x1b[31mred");
  CHECK(core::printable(std::string("a\x7f\x00z", 4)) == "a\\x7f\\x00z");
  CHECK(core::printable("tab\there\r") == "tab\\x09here\\x0d");
  // C1 CSI (U+009B), a line separator and a right-to-left override, each as its UTF-8 bytes.
  CHECK(core::printable("\xc2\x9b" "2J") == "\\xc2\\x9b2J");
  CHECK(core::printable("a\xe2\x80\xa8" "b") == "a\\xe2\\x80\\xa8b");
  CHECK(core::printable("\xe2\x80\xae" "cba") == "\\xe2\\x80\\xaecba");
  // Bytes that are not UTF-8, and a backslash, so an escape always means we made it.
  CHECK(core::printable("\xff\xc3") == "\\xff\\xc3");
  CHECK(core::printable("C:\\x0a") == "C:\\\\x0a");
  // Bounded, never cut inside a character, and says how long the text was.
  CHECK(core::printable(std::string(1000, 'a'), 10) == std::string(10, 'a') + "...(1000 bytes)");
  CHECK(core::printable("aaaaaaaaä", 10) == "aaaaaaaaä");
  CHECK(core::printable("aaaaaaaaaä", 10) == "aaaaaaaaa...(11 bytes)");
  CHECK(core::printable("", 10).empty());
  CHECK(core::printable(std::string(200, 'b')) == std::string(200, 'b'));
  CHECK(core::printable(std::string(201, 'b')) == std::string(200, 'b') + "...(201 bytes)");
}
