#pragma once

#include <string>

#include <tl/expected.hpp>

namespace oauth {

/// An OAuth error response (RFC 6749 section 5.2, RFC 7591 section 3.2.2): the HTTP status, the
/// `error` code and a sentence for the developer who reads it.
struct OAuthError {
  int status = 400;
  std::string error;
  std::string description;
};

template <typename T>
using OAuthResult = tl::expected<T, OAuthError>;

inline tl::unexpected<OAuthError> oauth_fail(std::string error, std::string description, int status = 400) {
  return tl::unexpected<OAuthError>(OAuthError{status, std::move(error), std::move(description)});
}

}  // namespace oauth
