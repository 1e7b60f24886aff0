#pragma once

#include <string>
#include <string_view>

namespace oauth {

/// What the owner sees when a client asks for access. Every field is text a client chose (or derived
/// from it) and is escaped by the renderer.
struct ConsentView {
  std::string client_name;
  std::string client_id;    ///< shown small: for a metadata-document client, the URL that names it
  std::string destination;  ///< where the browser goes afterwards (redirect_destination)
  std::string scope;
  std::string request;      ///< the signed, opaque authorization request the form posts back
  std::string csrf;         ///< the form's CSRF token (also in a cookie)
  std::string style_nonce;  ///< the Content-Security-Policy nonce of the one <style> element
  std::string problem;      ///< shown above the form after a failed attempt (e.g. a wrong password)
};

/// The consent page: one form, one password input, approve and deny. No script, no external asset;
/// readable from 320 px wide up.
[[nodiscard]] std::string render_consent_page(const ConsentView& view);

/// A page for an authorization request that cannot go back to its client (unknown client, a redirect
/// URI that is not registered): never redirected, so it cannot become an open redirect.
[[nodiscard]] std::string render_error_page(std::string_view title, std::string_view message, std::string_view style_nonce);

/// The Content-Security-Policy of these pages: nothing loads, only the nonce'd style applies, the form
/// posts only here (and follows the redirect to `redirect_origin` afterwards), and no page may frame it.
[[nodiscard]] std::string page_security_policy(std::string_view style_nonce, std::string_view redirect_origin);

/// `text` with & < > " ' as character references.
[[nodiscard]] std::string html_escape(std::string_view text);

}  // namespace oauth
