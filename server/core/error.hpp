#pragma once

#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

namespace core {

/// What went wrong, coarse enough for a caller to decide what to do next.
enum class ErrorKind {
  invalid_argument,  ///< the caller sent something we cannot accept
  not_found,         ///< the thing asked for does not exist
  conflict,          ///< the thing exists but is in the wrong state
  unavailable,       ///< a dependency (the engine) cannot be reached
  timeout,           ///< a deadline passed before an answer came
  internal,          ///< a bug or an answer we did not expect
};

/// Stable lower-case name of a kind, for logs, metrics and JSON.
std::string_view to_string(ErrorKind kind);

/// An error value: a kind for control flow and a message for humans.
struct Error {
  ErrorKind kind = ErrorKind::internal;
  std::string message;

  /// The same error with `context: ` put in front of its message.
  [[nodiscard]] Error with_context(std::string_view context) const;
};

template <typename T>
using Result = tl::expected<T, Error>;

/// Shorthand for building the unexpected side of a Result.
inline tl::unexpected<Error> fail(ErrorKind kind, std::string message) {
  return tl::unexpected<Error>(Error{kind, std::move(message)});
}

inline tl::unexpected<Error> fail(Error error) { return tl::unexpected<Error>(std::move(error)); }

}  // namespace core
