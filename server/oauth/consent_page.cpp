#include "oauth/consent_page.hpp"

namespace oauth {

namespace {

// One stylesheet for both pages; wraps every long word so nothing scrolls sideways on a phone.
constexpr std::string_view kStyle = R"css(
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f4f5f7;color:#1d2129}
main{max-width:30rem;margin:2rem auto;padding:1.5rem;background:#fff;border-radius:12px;box-shadow:0 1px 4px rgba(0,0,0,.12);overflow-wrap:anywhere}
h1{font-size:1.35rem;margin:0 0 1rem}
p{margin:.6rem 0}
.who{font-weight:600}
.small{font-size:.85rem;color:#5b6270}
.problem{background:#fdecea;color:#8a1c1c;padding:.6rem .8rem;border-radius:8px}
label{display:block;margin:1.2rem 0 .3rem;font-weight:600}
input[type=password]{width:100%;padding:.7rem;font-size:1rem;border:1px solid #b8bec9;border-radius:8px}
.actions{display:flex;gap:.75rem;margin-top:1.2rem;flex-wrap:wrap}
button{flex:1 1 8rem;padding:.75rem 1rem;font-size:1rem;border-radius:8px;border:1px solid #b8bec9;background:#fff;cursor:pointer}
button.approve{background:#1f6feb;border-color:#1f6feb;color:#fff;font-weight:600}
@media (max-width:34rem){main{margin:0;border-radius:0;min-height:100vh}}
)css";

std::string page(std::string_view title, std::string_view style_nonce, const std::string& content) {
  std::string html;
  html += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">";
  html += "<meta name=\"referrer\" content=\"no-referrer\">";
  html += "<title>" + html_escape(title) + "</title>";
  html += "<style nonce=\"" + html_escape(style_nonce) + "\">" + std::string(kStyle) + "</style></head>";
  html += "<body><main>" + content + "</main></body></html>\n";
  return html;
}

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string render_consent_page(const ConsentView& view) {
  std::string content;
  content += "<h1>Allow access to this sandbox?</h1>";
  if (!view.problem.empty()) content += "<p class=\"problem\" role=\"alert\">" + html_escape(view.problem) + "</p>";
  content += "<p><span class=\"who\">" + html_escape(view.client_name) +
             "</span> asks to run code and manage files in this mcp-sandbox server on your behalf.</p>";
  content += "<p>After you answer, your browser goes back to <span class=\"who\">" + html_escape(view.destination) +
             "</span>.</p>";
  content += "<p class=\"small\">Client: " + html_escape(view.client_id) + "<br>Access: " + html_escape(view.scope) +
             "</p>";
  content += "<form method=\"post\" action=\"authorize\">";
  content += "<input type=\"hidden\" name=\"request\" value=\"" + html_escape(view.request) + "\">";
  content += "<input type=\"hidden\" name=\"csrf\" value=\"" + html_escape(view.csrf) + "\">";
  content += "<label for=\"password\">Owner password</label>";
  content += "<input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required autofocus>";
  content += "<div class=\"actions\">";
  content += "<button class=\"approve\" type=\"submit\" name=\"decision\" value=\"approve\">Allow</button>";
  content += "<button type=\"submit\" name=\"decision\" value=\"deny\" formnovalidate>Deny</button>";
  content += "</div></form>";
  content += "<p class=\"small\">Only allow clients you added yourself. You can revoke access later with "
             "<code>mcp-sandbox oauth revoke</code>.</p>";
  return page("Allow access? - mcp-sandbox", view.style_nonce, content);
}

std::string render_error_page(std::string_view title, std::string_view message, std::string_view style_nonce) {
  return page(std::string(title) + " - mcp-sandbox", style_nonce,
              "<h1>" + html_escape(title) + "</h1><p>" + html_escape(message) + "</p>");
}

std::string page_security_policy(std::string_view style_nonce, std::string_view redirect_origin) {
  std::string policy = "default-src 'none'; style-src 'nonce-" + std::string(style_nonce) +
                       "'; img-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";
  // Browsers apply form-action to the redirect after the post too: allow exactly the client's origin.
  if (!redirect_origin.empty()) policy += " " + std::string(redirect_origin);
  return policy;
}

}  // namespace oauth
