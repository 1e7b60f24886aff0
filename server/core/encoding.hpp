#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace core {

/// Standard base64 (RFC 4648) with padding.
std::string base64_encode(std::string_view bytes);

/// Decodes standard base64; padding optional, whitespace ignored.
/// Returns nullopt for any other character or a malformed length.
std::optional<std::string> base64_decode(std::string_view text);

/// True when `text` is well-formed UTF-8.
bool is_valid_utf8(std::string_view text);

/// Each byte as two lower-case hex digits ("\x01\xab" -> "01ab").
std::string hex_encode(std::string_view bytes);

/// RFC 3986 percent-encoding: unreserved characters (A-Z a-z 0-9 - . _ ~) and
/// those in `keep` (e.g. "/" for a path) stay, every other byte becomes %XX
/// with upper-case hex.
std::string percent_encode(std::string_view text, std::string_view keep = {});

/// The value of a hex digit (either case), or -1.
int hex_digit(char c);

/// `text` with each %XX replaced by its byte; nullopt for a '%' not followed by two hex digits.
/// With `plus_is_space` (query strings, application/x-www-form-urlencoded) '+' is a space;
/// otherwise (RFC 3986 paths) it is a plus.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space = false);

/// `text` without leading and trailing ASCII white space (space, \t \n \v \f \r).
std::string_view trim(std::string_view text);

/// True for a portable environment variable name: [A-Za-z_][A-Za-z0-9_]*, at most 128 bytes.
bool valid_environment_name(std::string_view name);

/// Text a caller sent, made safe for one log line: control characters (C0, DEL,
/// C1, Unicode line separators and bidirectional overrides) and bytes that are
/// not UTF-8 become \xNN, a backslash becomes \\, and text longer than
/// `max_bytes` is cut (never inside a character) with "...(N bytes)" after it.
std::string printable(std::string_view text, std::size_t max_bytes = 200);

}  // namespace core
